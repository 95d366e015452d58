"""Which check-ins need staff attention, through the access layer.

:func:`worklist_for` gives a therapist (or supervisor) their own caseload's pending,
overdue and expired check-ins, clients who stopped check-ins, failed deliveries and open
alerts. :func:`clinic_counts` gives clinic admins per-therapist counts only (no client
identities). The workspace renders these; nothing here writes.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.utils import timezone

from rapport.checkin import sending
from rapport.checkin.links import DUE_GRACE, OPEN_STATUSES
from rapport.checkin.models import (
    Alert,
    CheckinLink,
    CheckinMessage,
    CheckinPreference,
    MessageStatus,
)
from rapport.clinic.models import Administration, EpisodeStatus, Organisation, Session
from rapport.security.access import episodes_for, visible_alerts


@dataclass(frozen=True)
class CheckinRow:
    client_public_id: str
    record_number: str
    therapist: str
    session_public_id: str
    session_number: int
    scheduled_at: datetime.datetime
    state: str  # pending | overdue | expired
    link_open: bool
    # "Resend link" is offered: an open link and a client reachable by e-mail or SMS
    # (rapport.checkin.sending, which also refuses a resend POST otherwise).
    resendable: bool = False


@dataclass
class Worklist:
    pending: list[CheckinRow] = field(default_factory=list)
    overdue: list[CheckinRow] = field(default_factory=list)
    expired: list[CheckinRow] = field(default_factory=list)
    stopped: list[CheckinPreference] = field(default_factory=list)
    failed_messages: list[CheckinMessage] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)


def _open_sessions(episodes, now: datetime.datetime):
    """Sessions of active ``episodes`` with questionnaires still open, annotated."""
    open_admin = Administration.objects.filter(session=OuterRef("pk"), status__in=OPEN_STATUSES)
    links = CheckinLink.objects.filter(session=OuterRef("pk"))
    open_link = links.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
    expired_link = links.filter(used_at__isnull=True, revoked_at__isnull=True, expires_at__lte=now)
    return (
        Session.objects.filter(
            episode__in=episodes.filter(status=EpisodeStatus.ACTIVE),
            scheduled_at__gte=now - DUE_GRACE,
        )
        .annotate(
            has_open=Exists(open_admin),
            link_open=Exists(open_link),
            link_expired=Exists(expired_link),
        )
        .filter(has_open=True)
        .select_related("episode__client", "episode__therapist")
        .order_by("scheduled_at")
    )


def _state(session, now: datetime.datetime) -> str:
    if session.link_expired and not session.link_open:
        return "expired"
    return "overdue" if session.scheduled_at < now else "pending"


def worklist_for(user, now: datetime.datetime | None = None) -> Worklist:
    now = now or timezone.now()
    episodes = episodes_for(user)
    result = Worklist()
    sessions = list(_open_sessions(episodes, now))
    reach = sending.reach_of_clients(
        {session.episode.client_id for session in sessions if session.link_open},
        user.organisation_id,
    )
    for session in sessions:
        episode = session.episode
        client_reach = reach.get(episode.client_id)
        row = CheckinRow(
            client_public_id=str(episode.client.public_id),
            record_number=episode.client.record_number,
            therapist=str(episode.therapist),
            session_public_id=str(session.public_id),
            session_number=session.number,
            scheduled_at=session.scheduled_at,
            state=_state(session, now),
            link_open=session.link_open,
            resendable=bool(session.link_open and client_reach and client_reach.channels),
        )
        getattr(result, row.state).append(row)
    clients = episodes.values("client_id")
    result.stopped = list(
        CheckinPreference.objects.filter(client_id__in=clients, stopped_at__isnull=False)
        .select_related("client")
        .order_by("-stopped_at")
    )
    result.failed_messages = list(
        CheckinMessage.objects.filter(session__episode__in=episodes)
        .exclude(last_error="")
        .filter(status__in=[MessageStatus.FAILED, MessageStatus.PENDING, MessageStatus.SKIPPED])
        .select_related("session__episode__client")
        .order_by("-next_attempt_at")
    )
    result.alerts = open_alerts_for(user)
    return result


def open_alerts_for(user) -> list[Alert]:
    """Unacknowledged alerts for clients in ``user``'s caseload that they may know of
    (:func:`rapport.security.access.visible_alerts`), newest first."""
    return list(
        visible_alerts(user, Alert.objects.filter(acknowledged_at__isnull=True))
        .select_related("client", "session")
        .order_by("-raised_at")
    )


def clinic_counts(organisation: Organisation, now: datetime.datetime | None = None) -> dict:
    """Per-therapist counts of pending / overdue / expired check-ins (no identities)."""
    now = now or timezone.now()
    from rapport.clinic.models import Episode

    episodes = Episode.objects.filter(client__organisation=organisation)
    counts: dict[str, Counter] = {}
    for session in _open_sessions(episodes, now):
        therapist = str(session.episode.therapist)
        counts.setdefault(therapist, Counter())[_state(session, now)] += 1
    return {therapist: dict(counter) for therapist, counter in sorted(counts.items())}
