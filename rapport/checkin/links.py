"""Creating, finding and closing check-in links, and choosing the session they cover."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.models import Channel, CheckinLink
from rapport.checkin.tokens import looks_like_token, new_token, token_hash
from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Episode,
    EpisodeStatus,
    Session,
    SessionStatus,
)
from rapport.core.instruments import instruments
from rapport.security import audit

OPEN_STATUSES = (AdministrationStatus.PENDING, AdministrationStatus.IN_PROGRESS)
# A session is still "due" for its check-in up to this long after its start.
DUE_GRACE = datetime.timedelta(days=7)
# Sessions store their start only; a link stays open at least this long after it, so it
# never closes before the session it is for has ended.
SESSION_LENGTH = datetime.timedelta(hours=1)


class NoDueSessionError(LookupError):
    """No session to check in for: no active episode, or no session scheduled."""


@dataclass(frozen=True)
class IssuedLink:
    """A newly created link with its token: the only moment the token is known."""

    link: CheckinLink
    token: str

    @property
    def path(self) -> str:
        return reverse("checkin-form", kwargs={"token": self.token})

    @property
    def url(self) -> str:
        """The absolute URL, built from ``settings.SITE_URL`` (never the request's Host)."""
        return settings.SITE_URL + self.path


def ensure_due_administrations(session: Session) -> list[Administration]:
    """The session's open administrations for the instruments its plan makes due.

    Creates the missing ones as ``pending`` (newest installed version of each
    instrument). Returned in plan order; completed ones are left out. A questionnaire
    is never created before its :attr:`~rapport.instruments.Instrument.first_session`
    (a relationship questionnaire asks about the last session), even where a plan
    written before that rule still says so.
    """
    registry = instruments()
    due = [
        instrument_id
        for instrument_id in session.episode.plan.instruments_due(session.number)
        if instrument_id in registry and registry[instrument_id].first_session <= session.number
    ]
    existing = {a.instrument_id: a for a in session.administrations.all()}
    for instrument_id in due:
        if instrument_id not in existing:
            instrument = registry[instrument_id]
            existing[instrument_id], _ = Administration.objects.get_or_create(
                session=session,
                instrument_id=instrument_id,
                defaults={
                    "instrument_version": instrument.version,
                    "construct": instrument.construct,
                },
            )
    order = {instrument_id: position for position, instrument_id in enumerate(due)}
    open_ones = [a for a in existing.values() if a.status in OPEN_STATUSES]
    return sorted(open_ones, key=lambda a: (order.get(a.instrument_id, len(order)), a.pk))


def active_episode(client) -> Episode:
    episode = (
        client.episodes.filter(status=EpisodeStatus.ACTIVE)
        .select_related("plan", "therapist")
        .order_by("-started_on", "-pk")
        .first()
    )
    if episode is None:
        raise NoDueSessionError(f"client {client.record_number} has no active episode")
    return episode


def due_session(episode: Episode, now: datetime.datetime | None = None) -> Session:
    """The session a check-in started now is for; raises NoDueSessionError if none.

    That is the earliest session of ``episode`` that started at most a week ago, is
    scheduled or attended, and still has due questionnaires open. A session is never
    invented here: when the client is in the room for a session nobody has entered yet,
    staff schedule it first (client page, "Next session"), so its date and number are
    the clinician's.
    """
    now = now or timezone.now()
    candidates = episode.sessions.filter(
        scheduled_at__gte=now - DUE_GRACE,
        status__in=[SessionStatus.SCHEDULED, SessionStatus.ATTENDED],
    ).order_by("scheduled_at", "number")
    for session in candidates:
        if ensure_due_administrations(session):
            return session
    raise NoDueSessionError(
        f"client {episode.client.record_number} has no session with questionnaires due: "
        "schedule the session first"
    )


def issue_link(
    session: Session,
    *,
    channel: str,
    created_by=None,
    lifetime: datetime.timedelta | None = None,
    request=None,
) -> IssuedLink:
    """Create a link for ``session`` and return it with its token (audited, no health data).

    The link lasts ``lifetime`` (``RAPPORT_CHECKIN_LINK_HOURS``), and at least until the
    session has ended. A kiosk link lasts only its own lifetime: it ends with the kiosk.
    """
    if channel not in Channel.values:
        raise ValueError(f"channel {channel!r} must be one of {Channel.values}")
    lifetime = lifetime or datetime.timedelta(hours=settings.CHECKIN_LINK_HOURS)
    expires_at = timezone.now() + lifetime
    if channel != Channel.KIOSK:
        expires_at = max(expires_at, session.scheduled_at + SESSION_LENGTH)
    token = new_token()
    with transaction.atomic():
        link = CheckinLink.objects.create(
            session=session,
            token_hash=token_hash(token),
            channel=channel,
            created_by=created_by,
            expires_at=expires_at,
        )
        audit.record(
            "checkin.link_create",
            request=request,
            user=created_by,
            obj=link,
            detail={"via": channel, "expires_at": link.expires_at.isoformat()},
        )
    return IssuedLink(link=link, token=token)


def find_link(token: str) -> CheckinLink | None:
    """The link for ``token`` in any state, or None; looked up by hash only."""
    if not looks_like_token(token):
        return None
    return (
        CheckinLink.objects.select_related("session__episode__client__organisation")
        .filter(token_hash=token_hash(token))
        .first()
    )


def find_open_link(token: str) -> CheckinLink | None:
    """The link for ``token`` if it can still be used (not used, revoked or expired)."""
    link = find_link(token)
    if link is None or not link.is_open():
        return None
    return link


def revoke_link(link: CheckinLink, *, user=None, request=None, reason: str = "staff") -> bool:
    """Close ``link`` now; False if it was already used or revoked."""
    with transaction.atomic():
        changed = CheckinLink.objects.filter(
            pk=link.pk, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now())
        if changed:
            audit.record(
                "checkin.link_revoke",
                request=request,
                user=user,
                obj=link,
                detail={"reason": reason},
            )
    return bool(changed)


def open_links(session_filter: Q | None = None):
    now = timezone.now()
    links = CheckinLink.objects.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    )
    return links.filter(session_filter) if session_filter is not None else links
