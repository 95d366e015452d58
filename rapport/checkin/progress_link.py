"""Who may open "Your progress" after a check-in: the browser that just sent it, briefly.

The view lives under the check-in link's own path (``/q/<token>/progress/``), and the
token alone is not enough: a link sent by e-mail can be forwarded or read off a shared
computer later. Submitting marks the submitting browser's session with the link's public
id, and the view opens only for a link that was used within :data:`WINDOW` *and* in the
browser carrying that mark. Every other request gets the check-in's one closed-link page,
so guessing learns nothing. What the view may show is decided by the access layer
(:func:`rapport.security.access.client_progress_constructs`).
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.links import find_link
from rapport.checkin.models import CheckinLink
from rapport.clinic.models import ClientProgress, Organisation
from rapport.security.access import client_progress_constructs

SESSION_KEY = "rapport_checkin_progress"
# Long enough to read the page after sending; short enough that the link is no key later.
WINDOW = datetime.timedelta(minutes=30)


def offer(request: HttpRequest, token: str, organisation: Organisation) -> str | None:
    """After a stored submission: mark this browser and return the progress URL, or None.

    Costs no query unless the clinic turned the feature on.
    """
    if organisation.client_progress == ClientProgress.OFF:
        return None
    link = find_link(token)
    if link is None or link.used_at is None:
        return None
    client = link.session.episode.client
    if not client_progress_constructs(organisation, client):
        return None
    request.session[SESSION_KEY] = str(link.public_id)
    return reverse("checkin-progress", kwargs={"token": token})


def opened_link(
    request: HttpRequest, token: str, now: datetime.datetime | None = None
) -> CheckinLink | None:
    """The used link behind ``token`` whose progress this browser may read now, or None."""
    link = find_link(token)
    if link is None or link.used_at is None:
        return None
    if (now or timezone.now()) - link.used_at > WINDOW:
        return None
    if request.session.get(SESSION_KEY) != str(link.public_id):
        return None
    client = link.session.episode.client
    if not client_progress_constructs(client.organisation, client):
        return None
    return link
