"""The therapist workspace: the caseload and the client record.

Every record comes through rapport.security.access; the staff gate middleware has already
required sign-in and MFA before these functions run.
"""

from __future__ import annotations

import uuid

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from rapport.security import params
from rapport.security.access import active_caseload, episodes_for, get_client_or_404
from rapport.workspace.caseload import SORT_KEYS, with_latest_scores
from rapport.workspace.client_record import episodes_with_sessions, latest_scores


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """A therapist's (or supervisor's) active caseload with the latest scores."""
    sort, order = params.ordering(request, SORT_KEYS, default="record")
    episodes = with_latest_scores(active_caseload(request.user), order)
    return render(request, "workspace/caseload.html", {"episodes": episodes, "sort": sort})


@require_GET
def client_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One client's record: record number, episodes, sessions and latest scores."""
    client = get_client_or_404(request, public_id)
    episodes = [
        (episode, latest_scores(episode))
        for episode in episodes_with_sessions(episodes_for(request.user).filter(client=client))
    ]
    return render(request, "workspace/client_detail.html", {"client": client, "episodes": episodes})
