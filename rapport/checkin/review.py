""" "Review together": the therapist hands the device to the client for their progress.

Started from the client page (staff, the client's episode in scope), it signs the
staff member out of the device exactly as a kiosk check-in does
(:func:`rapport.checkin.kiosk.hand_to_client`) and marks the new, anonymous session
with the episode's public id and an end time. The review screen shows that episode's
progress and nothing else: no navigation, no notes, no alerts, no other client. Ending
the review is the kiosk's staff exit page, which takes the full sign-in again.
"""

from __future__ import annotations

import datetime

from django.http import HttpRequest
from django.utils import timezone

from rapport.checkin import kiosk
from rapport.clinic.models import Episode, EpisodeStatus

SESSION_KEY = "rapport_review_together"
# Long enough for a session; a screen forgotten on a desk closes by itself after it.
LIFETIME = datetime.timedelta(minutes=90)


def enter(request: HttpRequest, episode: Episode) -> None:
    until = (timezone.now() + LIFETIME).isoformat()
    kiosk.hand_to_client(request, SESSION_KEY, f"{episode.public_id}|{until}")


def current_episode(request: HttpRequest) -> Episode | None:
    """The active episode this device is reviewing, or None (no review, or it ended)."""
    mark = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    if not mark:
        return None
    public_id, _, until = mark.partition("|")
    try:
        ends = datetime.datetime.fromisoformat(until)
    except ValueError:
        return None
    if timezone.now() >= ends:
        return None
    return (
        Episode.objects.select_related("client__organisation")
        .filter(public_id=public_id, status=EpisodeStatus.ACTIVE)
        .first()
    )


def is_reviewing(request: HttpRequest) -> bool:
    return bool(getattr(request, "session", None) and request.session.get(SESSION_KEY))


def leave(request: HttpRequest) -> bool:
    """Clear the review mark; True if there was one."""
    return request.session.pop(SESSION_KEY, None) is not None
