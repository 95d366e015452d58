"""Sending check-in invitations and reminders by e-mail or text message.

Run by ``rapport checkin send-due`` from cron or a systemd timer, never inside a web
request, so a slow or failing mail server cannot block a page. Each run

1. schedules an invitation (``CHECKIN_INVITE_HOURS_BEFORE`` before the session) and a
   reminder (``CHECKIN_REMINDER_HOURS_BEFORE`` before) for every upcoming session whose
   measurement plan makes questionnaires due, and
2. sends every message whose time has come: a fresh link is issued at send time (only
   its hash is kept, so the URL exists nowhere else), then e-mailed or texted. A failure
   revokes that link, records the error, and retries with exponential backoff up to
   :data:`MAX_ATTEMPTS`; then the message is marked failed, which staff see in the
   worklist (:func:`rapport.checkin.worklist.worklist_for`).
3. escalates unacknowledged safety alerts and sends due safety notices, through the same
   :func:`attempt` (:mod:`rapport.checkin.safety_notices`).

Text messages go through an :class:`SmsSender`, chosen by ``RAPPORT_SMS_SENDER``
(dotted path). :class:`ConsoleSmsSender` prints them; see docs/checkin.md for plugging
in a provider.
"""

from __future__ import annotations

import datetime
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TextIO

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from rapport.checkin import preferences
from rapport.checkin.links import OPEN_STATUSES, ensure_due_administrations, issue_link, revoke_link
from rapport.checkin.models import (
    Channel,
    CheckinMessage,
    CheckinPreference,
    MessageKind,
    MessageStatus,
    SafetyNotice,
    safety_notice_settings_for,
)
from rapport.checkin.reach import Reach, reach_of_clients
from rapport.clinic.models import (
    Administration,
    ClientDemographics,
    ClientIdentity,
    EpisodeStatus,
    Session,
    SessionStatus,
)
from rapport.operations import metrics

MAX_ATTEMPTS = 5
FIRST_RETRY = datetime.timedelta(minutes=5)


class SmsSender(Protocol):
    """Sends one text message; raises any exception on failure (it is recorded, retried)."""

    def send(self, to: str, body: str) -> None: ...


class ConsoleSmsSender:
    """Prints text messages instead of sending them (demo and development)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, to: str, body: str) -> None:
        self.stream.write(f"--- SMS to {to} ---\n{body}\n")
        self.stream.flush()


def sms_sender() -> SmsSender:
    return import_string(settings.CHECKIN_SMS_SENDER)()


@dataclass
class DeliveryReport:
    scheduled: int = 0
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    skipped: int = 0


def _contact(client_id: int) -> tuple[str, str]:
    identity = ClientIdentity.objects.filter(client_id=client_id).first()
    if identity is None:
        return "", ""
    return identity.email or "", identity.phone or ""


def _unreachable(reach: Reach) -> str:
    if reach.has_phone and not reach.sms_enabled:
        return "only a mobile number on file, and text messages are switched off for this clinic"
    return "no e-mail address or phone number on file"


def schedule_due(now: datetime.datetime) -> int:
    """Create the invitation and reminder rows for sessions starting soon; returns new rows."""
    invite_before = datetime.timedelta(hours=settings.CHECKIN_INVITE_HOURS_BEFORE)
    remind_before = datetime.timedelta(hours=settings.CHECKIN_REMINDER_HOURS_BEFORE)
    stopped = CheckinPreference.objects.filter(stopped_at__isnull=False).values("client_id")
    sessions = (
        Session.objects.filter(
            status=SessionStatus.SCHEDULED,
            scheduled_at__gt=now,
            scheduled_at__lte=now + invite_before,
            episode__status=EpisodeStatus.ACTIVE,
        )
        .exclude(episode__client_id__in=stopped)
        .select_related("episode__plan", "episode__client")
    )
    created = 0
    for session in sessions:
        if not ensure_due_administrations(session):
            continue
        client_id = session.episode.client_id
        # E-mail first; a text message only where the clinic has them switched on.
        reach = reach_of_clients([client_id], session.episode.client.organisation_id)[client_id]
        channel = next(iter(reach.channels), None)
        plans = [(MessageKind.INVITATION, session.scheduled_at - invite_before)]
        if preferences.reminders_wanted(client_id):
            plans.append((MessageKind.REMINDER, session.scheduled_at - remind_before))
        for kind, when in plans:
            _, was_created = CheckinMessage.objects.get_or_create(
                session=session,
                kind=kind,
                defaults={
                    "channel": channel or Channel.EMAIL,
                    "scheduled_for": when,
                    "next_attempt_at": when,
                    "status": MessageStatus.PENDING if channel else MessageStatus.SKIPPED,
                    "last_error": "" if channel else _unreachable(reach),
                },
            )
            created += was_created
    return created


def _skip_reason(message: CheckinMessage) -> str | None:
    client_id = message.session.episode.client_id
    if CheckinPreference.objects.filter(client_id=client_id, stopped_at__isnull=False).exists():
        return "client stopped check-ins"
    if message.session.episode.status != EpisodeStatus.ACTIVE:
        return "episode closed"
    if message.kind == MessageKind.REMINDER and not preferences.reminders_wanted(client_id):
        return "client turned reminders off"
    if (
        message.channel == Channel.SMS
        and not safety_notice_settings_for(
            message.session.episode.client.organisation_id
        ).sms_enabled
    ):
        return "text messages are switched off for this clinic"
    if not Administration.objects.filter(
        session=message.session, status__in=OPEN_STATUSES
    ).exists():
        return "check-in already completed"
    return None


def client_date_time(value: datetime.datetime) -> str:
    """``value`` as a client reads it: in the active language, in the clinic's time zone.

    The clinic's time zone is the installation's (``RAPPORT_TIME_ZONE``). The format is a
    translated Django date format, so weekday and month names come from Django's own
    catalogues ("martes, 15 de diciembre de 2026, 16:30").
    """
    # Translators: a Django date format (the `date` template filter's letters); put
    # literal words in backslashes, as in Spanish "l, j \d\e F \d\e Y, H:i".
    return date_format(timezone.localtime(value), _("l, j F Y, H:i"))


def _text(message: CheckinMessage, url: str, expires_at: datetime.datetime) -> tuple[str, str]:
    """(subject, body) in the client's preferred language; no health information."""
    language = (
        ClientDemographics.objects.filter(client_id=message.session.episode.client_id)
        .values_list("preferred_language", flat=True)
        .first()
    )
    clinic = message.session.episode.client.organisation.name
    supported = {code for code, _name in settings.LANGUAGES}
    with translation.override(language if language in supported else "en"):
        if message.kind == MessageKind.REMINDER:
            subject = _("Reminder: your check-in before your session")
        else:
            subject = _("Your check-in before your session")
        body = _(
            "Hello,\n\nPlease take a minute or two to answer a few questions before your "
            "session on %(date)s:\n\n%(url)s\n\nThis link is just for you: please do not "
            "forward it. It closes on %(expires)s.\n\n%(clinic)s"
        ) % {
            "date": client_date_time(message.session.scheduled_at),
            "url": url,
            "expires": client_date_time(expires_at),
            "clinic": clinic,
        }
    return subject, body


def _send(message: CheckinMessage, url: str, expires_at: datetime.datetime) -> None:
    email, phone = _contact(message.session.episode.client_id)
    subject, body = _text(message, url, expires_at)
    if message.channel == Channel.SMS:
        if not phone:
            raise ValueError("no phone number on file")
        sms_sender().send(phone, body)
    else:
        if not email:
            raise ValueError("no e-mail address on file")
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email], fail_silently=False)


def deliver_pending(now: datetime.datetime, report: DeliveryReport) -> None:
    due_ids = list(
        CheckinMessage.objects.filter(
            status=MessageStatus.PENDING, next_attempt_at__lte=now
        ).values_list("pk", flat=True)
    )
    for pk in due_ids:
        _deliver(pk, now, report)


def _deliver(pk: int, now: datetime.datetime, report: DeliveryReport) -> None:
    """Send one pending message with a fresh link, or record why not (retry or skip)."""
    with transaction.atomic():
        message = (
            CheckinMessage.objects.select_for_update(skip_locked=True)
            .select_related("session__episode__client__organisation")
            .filter(pk=pk, status=MessageStatus.PENDING)
            .first()
        )
        if message is None:
            return  # another send-due run has it
        reason = _skip_reason(message)
        if reason is not None:
            message.status, message.last_error = MessageStatus.SKIPPED, reason
            message.save(update_fields=["status", "last_error"])
            report.skipped += 1
            return
        issued = issue_link(message.session, channel=message.channel)
        message.link = issued.link
        attempt(
            message,
            lambda: _send(message, issued.url, issued.link.expires_at),
            now=now,
            report=report,
            on_failure=lambda: revoke_link(issued.link, reason="send_failed"),
        )


def attempt(
    record: CheckinMessage | SafetyNotice,
    send: Callable[[], None],
    *,
    now: datetime.datetime,
    report: DeliveryReport,
    on_failure: Callable[[], None] | None = None,
) -> None:
    """One delivery attempt of a pending ``record`` (locked by the caller), saved.

    ``send`` raising anything counts as a failure: the error is recorded and the record
    retried with exponential backoff, until :data:`MAX_ATTEMPTS` marks it failed.
    """
    record.attempts += 1
    kind = record.kind if isinstance(record, CheckinMessage) else metrics.SAFETY_NOTICE_KIND
    try:
        send()
    except Exception as error:  # any sender failure is recorded and retried
        if on_failure is not None:
            on_failure()
        record.last_error = f"{type(error).__name__}: {error}"[:300]
        if record.attempts >= MAX_ATTEMPTS:
            record.status = MessageStatus.FAILED
            report.failed += 1
        else:
            record.next_attempt_at = now + FIRST_RETRY * 2 ** (record.attempts - 1)
            report.retrying += 1
        gave_up = record.status == MessageStatus.FAILED
        metrics.count_message(kind, record.channel, sent=False, final=gave_up)
    else:
        record.status, record.sent_at, record.last_error = MessageStatus.SENT, now, ""
        report.sent += 1
        metrics.count_message(kind, record.channel, sent=True)
    record.save()


def resend_invitation(
    session: Session, channel: str, now: datetime.datetime | None = None
) -> CheckinMessage:
    """Staff asked to send the session's check-in now by ``channel``: a fresh link, sent.

    The session's invitation is queued again on ``channel`` (created if it was never
    scheduled) with a fresh attempt budget and delivered at once through the usual path,
    so opt-outs and a completed check-in are respected and recorded the same way, and a
    failed send is retried like any other. Returns the message with its new status.
    Earlier links stay valid until they expire: the client may use whichever message
    they open first. Whether staff may send at all is :mod:`rapport.checkin.sending`'s
    rule, checked before this is called.
    """
    if channel not in (Channel.EMAIL, Channel.SMS):
        raise ValueError(f"channel {channel!r} must be e-mail or SMS")
    now = now or timezone.now()
    ensure_due_administrations(session)
    message, _ = CheckinMessage.objects.get_or_create(
        session=session,
        kind=MessageKind.INVITATION,
        defaults={"channel": channel, "scheduled_for": now, "next_attempt_at": now},
    )
    message.channel, message.status, message.last_error = channel, MessageStatus.PENDING, ""
    message.attempts, message.next_attempt_at = 0, now
    message.save()
    _deliver(message.pk, now, DeliveryReport())
    message.refresh_from_db()
    return message


def send_due(now: datetime.datetime | None = None) -> DeliveryReport:
    """Schedule and send whatever is due at ``now``, safety notices and their escalation
    included (:mod:`rapport.checkin.safety_notices`); see the module docstring."""
    now = now or timezone.now()
    report = DeliveryReport()
    report.scheduled = schedule_due(now)
    deliver_pending(now, report)
    # Imported here: safety notices send through this module's attempt() and senders.
    from rapport.checkin import safety_notices

    safety_notices.escalate_due(now)
    safety_notices.deliver_pending(now, report)
    return report
