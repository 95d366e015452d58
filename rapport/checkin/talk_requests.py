"""Reading and closing a client's "I'd like to talk about how therapy is going" requests.

The check-in stores a :class:`~rapport.checkin.models.TalkRequest` (submit.py). Staff read
them only through :func:`open_talk_requests`, which asks the access layer's
:func:`~rapport.security.access.may_see_talk_request` for every episode, and close them
with :func:`mark_discussed`. Nothing else reads the table: the PDF report, the API, the
FHIR and research exports and the aggregates never do (docs/security.md, section 12).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from rapport.accounts.models import User
from rapport.checkin.models import TalkRequest
from rapport.clinic.models import Episode
from rapport.security import audit
from rapport.security.access import may_see_talk_request


def open_talk_requests(user: User, episodes: Iterable[Episode]) -> dict[int, list[TalkRequest]]:
    """The undiscussed requests of ``episodes`` that ``user`` may see, by episode pk,
    oldest first. One query, whatever the number of episodes."""
    allowed = [episode.pk for episode in episodes if may_see_talk_request(user, episode)]
    found: dict[int, list[TalkRequest]] = {}
    if not allowed:
        return found
    requests = (
        TalkRequest.objects.filter(episode_id__in=allowed, discussed_at__isnull=True)
        .select_related("session")
        .order_by("raised_at", "pk")
    )
    for talk_request in requests:
        found.setdefault(talk_request.episode_id, []).append(talk_request)
    return found


class TalkRequestError(ValueError):
    """The request cannot be marked discussed (already discussed)."""


def mark_discussed(request: HttpRequest, talk_request: TalkRequest, by: User) -> None:
    """Record that ``by`` (the therapist) talked with the client about it; audited (no
    words of the client in the audit trail). ``talk_request`` comes from
    :func:`open_talk_requests`.
    """
    now = timezone.now()
    with transaction.atomic():
        updated = TalkRequest.objects.filter(pk=talk_request.pk, discussed_at__isnull=True).update(
            discussed_at=now, discussed_by=by
        )
        if not updated:
            raise TalkRequestError("already marked as discussed")
        audit.record("talk_request.discussed", request=request, obj=talk_request)
    talk_request.discussed_at, talk_request.discussed_by = now, by
