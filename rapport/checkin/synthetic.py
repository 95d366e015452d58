"""A synthetic clinic's check-ins (``rapport synth``), made to behave like real ones.

The generator decides which sessions have a check-in open on the clinic's "today" (see
:mod:`rapport.synth.generator`); here each gets its due questionnaires and a link through
the same functions the client page's "Start check-in" uses, so the worklist shows pending
and overdue check-ins that behave like real ones. The link's token is thrown away (only
its hash is ever stored): to answer one, staff issue a fresh link as usual.

The generated risk answers get the history a check-in gives them: an alert raised when
the answers came in, its first notice sent (to the therapist, or for an answer about the
relationship to the supervisor), and, for answers more than :data:`FOLLOWED_UP_AFTER`
old, a follow-up recorded within the clinic's first escalation interval by whoever
follows such an answer up. Newer ones are still open, as they would be in a clinic that
uses Rapport; the demo's worker escalates them as it would a real one. Follow-up notes
are left empty (the note is optional): no invented clinical text.
"""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Iterable
from typing import Any

import numpy as np
from django.utils import timezone

from rapport.checkin.acknowledgement import OUTCOMES
from rapport.checkin.links import ensure_due_administrations, issue_link
from rapport.checkin.models import (
    Alert,
    AlertKind,
    Channel,
    ContactMethod,
    MessageStatus,
    RiskOutcome,
    SafetyNotice,
    SafetyNoticeSettings,
    safety_notice_settings_for,
)
from rapport.checkin.safety_notices import notice_route, recipients
from rapport.clinic.models import Administration, AdministrationStatus, Organisation, Session

#: A risk answer older than this on the clinic's "today" has been followed up.
FOLLOWED_UP_AFTER = datetime.timedelta(days=2)
#: Followed up between these many minutes after the answer: within the default first
#: escalation interval (two hours), so no later notice was due.
FOLLOW_UP_MINUTES = (15, 110)
#: How the clinician reached the client, and what the review found (by the outcomes'
#: order in :data:`rapport.checkin.acknowledgement.OUTCOMES`), as weights.
CONTACT_WEIGHTS = {ContactMethod.PHONE: 0.6, ContactMethod.IN_SESSION: 0.4}
OUTCOME_WEIGHTS = (0.55, 0.4, 0.05)
BATCH_SIZE = 2000


def open_synthetic_checkins(*, sessions: Iterable[Session], **_signal) -> None:
    """Receiver of :data:`rapport.clinic.signals.synthetic_checkins_open`."""
    for session in sessions:
        if ensure_due_administrations(session):
            # As if the therapist had printed the link for the client at the last session.
            issue_link(session, channel=Channel.PRINT, created_by=session.episode.therapist)


def give_risk_answers_their_history(
    *, organisation: Organisation, anchor: datetime.date, **_signal
) -> None:
    """Receiver of :data:`rapport.clinic.signals.synthetic_history_written`."""
    today = timezone.make_aware(datetime.datetime.combine(anchor, datetime.time(23, 59)))
    # What happened up to the clinic's "today", and not after the real now either: a
    # notice not yet due is left to the worker, which sends it as it would a real one.
    until = min(today, timezone.now())
    chosen = safety_notice_settings_for(organisation.pk)
    rng = np.random.default_rng(zlib.crc32(f"{organisation.slug}:risk-answers".encode()))
    answered = (
        Administration.objects.filter(
            session__episode__client__organisation=organisation,
            status=AdministrationStatus.COMPLETED,
        )
        .exclude(flags=[])
        .select_related("session__episode__therapist__supervisor")
        .order_by("completed_at", "pk")
    )
    alerts: list[Alert] = []
    for administration in answered.iterator(chunk_size=BATCH_SIZE):
        for code in administration.flags:
            if code.startswith("critical:"):
                alerts.append(_alert(organisation, administration, code, until, rng))
        if len(alerts) >= BATCH_SIZE:
            _write(alerts, chosen, until)
            alerts = []
    _write(alerts, chosen, until)


def _write(alerts: list[Alert], chosen: SafetyNoticeSettings, until: datetime.datetime) -> None:
    Alert.objects.bulk_create(alerts)
    SafetyNotice.objects.bulk_create(
        [notice for alert in alerts for notice in _notices(alert, chosen, until)]
    )


def _alert(
    organisation: Organisation,
    administration: Administration,
    code: str,
    until: datetime.datetime,
    rng: np.random.Generator,
) -> Alert:
    session = administration.session
    episode = session.episode
    raised = administration.completed_at or session.scheduled_at
    alert = Alert(
        organisation=organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client_id=episode.client_id,
        episode=episode,
        session=session,
        code=code,
        construct=administration.construct,
        raised_at=raised,
    )
    reviewer = _follows_up(alert)
    if raised < until - FOLLOWED_UP_AFTER and reviewer is not None:
        minutes = float(rng.uniform(*FOLLOW_UP_MINUTES))
        alert.acknowledged_at = raised + datetime.timedelta(minutes=minutes)
        alert.acknowledged_by = reviewer
        methods, weights = list(CONTACT_WEIGHTS), list(CONTACT_WEIGHTS.values())
        alert.contact_method = str(rng.choice(methods, p=weights))
        outcomes: tuple[RiskOutcome, ...] = OUTCOMES[alert.about_the_relationship]
        alert.risk_outcome = str(rng.choice(outcomes, p=OUTCOME_WEIGHTS))
    return alert


def _follows_up(alert: Alert) -> Any:
    """Who is told first and follows the answer up: the therapist, or for an answer about
    the relationship the therapist's supervisor (docs/safety.md); None if nobody is."""
    therapist = alert.episode.therapist if alert.episode else None
    if therapist is None or not alert.about_the_relationship:
        return therapist
    return therapist.supervisor


def _notices(
    alert: Alert, chosen: SafetyNoticeSettings, until: datetime.datetime
) -> list[SafetyNotice]:
    """The notices of ``alert``'s route (:func:`~rapport.checkin.safety_notices.notice_route`)
    that fell due before it was followed up, or by ``until``: sent a minute after they were
    due, or skipped with the reason the route gives (a clinic with no fallback contact)."""
    stop = min(alert.acknowledged_at or until, until)
    notices = []
    for step, due in notice_route(alert, chosen):
        if due > stop:
            break
        for channel, recipient, problem in recipients(alert, step, chosen):
            notices.append(
                SafetyNotice(
                    alert=alert,
                    step=step,
                    channel=channel,
                    recipient=recipient,
                    status=MessageStatus.SKIPPED if problem else MessageStatus.SENT,
                    last_error=problem,
                    scheduled_for=due,
                    next_attempt_at=due,
                    attempts=0 if problem else 1,
                    sent_at=None if problem else due + datetime.timedelta(minutes=1),
                )
            )
    return notices
