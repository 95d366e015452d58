from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from rapport.security.access import active_caseload
from rapport.workspace.caseload import with_latest_scores


@login_required
def home(request):
    """A therapist's (or supervisor's) active caseload with the latest scores."""
    episodes = with_latest_scores(active_caseload(request.user))
    return render(request, "workspace/caseload.html", {"episodes": episodes})
