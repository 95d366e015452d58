"""Telling people about an urgent check-in result, and escalating until someone responds.

When a client's check-in raises a critical-item alert (PHQ-9 item 9 above 0, or any
critical item of an installed questionnaire), :func:`queue_for_new_alerts` queues the
first notice of the alert's route (:func:`notice_route`) inside the submission's
transaction and sends it once that transaction commits: a rolled-back submission tells
nobody, and a failed send never fails the submission (it is recorded and retried by
``rapport checkin send-due``).

The route depends on what the answer is about. A symptom answer goes to the treating
therapist at once; while the alert stays unacknowledged, :func:`escalate_due` (run by
``send-due``) notifies the therapist's supervisor after the clinic's first interval and
the clinic's fallback contact after the second (:class:`SafetyNoticeSettings`, default
two hours each). A relationship answer ("I felt safe with my therapist in the last
session": disagree) is about the therapist, so it goes to their supervisor at once and to
the fallback contact after the second interval; the therapist is never sent it.
Acknowledging the alert stops whatever has not been sent yet.

Notices travel through the check-in delivery path (:func:`rapport.checkin.delivery.attempt`:
retries, backoff, recorded status) by e-mail, and by text message where the clinic turned
text messages on and the recipient has a number. A notice carries no client name and no
answer: only that a result needs review, the record number, when, and a sign-in link.
Imported and synthetic data raise no :class:`Alert` rows, so they send nothing.
"""

from __future__ import annotations

import datetime
import itertools
import logging
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

# Reasons are stored in English (last_error) and translated where staff read them.
from django.utils.translation import gettext_noop

from rapport.accounts.models import User
from rapport.checkin import delivery
from rapport.checkin.models import (
    Alert,
    AlertKind,
    Channel,
    MessageStatus,
    NoticeStep,
    SafetyNotice,
    SafetyNoticeSettings,
    safety_notice_settings_for,
)

logger = logging.getLogger(__name__)

# A recipient: the channel, the staff account (None for the fallback contact), and why
# nothing can be sent ("" when it can).
_Recipient = tuple[str, User | None, str]


def notice_route(alert: Alert, chosen: SafetyNoticeSettings) -> list[tuple[str, datetime.datetime]]:
    """Who is told of ``alert`` and when: ``(step, due at)`` in order, the first at once.

    Intervals are the clinic's current settings ``chosen``, counted from when the alert
    was raised. A symptom answer: therapist, then supervisor after the first interval,
    then the fallback contact after the second. A relationship answer: supervisor, then
    the fallback contact after the second interval.
    """
    raised = alert.raised_at
    first = datetime.timedelta(minutes=chosen.supervisor_after_minutes)
    second = datetime.timedelta(minutes=chosen.fallback_after_minutes)
    if alert.about_the_relationship:
        return [(NoticeStep.SUPERVISOR, raised), (NoticeStep.FALLBACK, raised + second)]
    return [
        (NoticeStep.THERAPIST, raised),
        (NoticeStep.SUPERVISOR, raised + first),
        (NoticeStep.FALLBACK, raised + first + second),
    ]


def queue_for_new_alerts(alerts: Iterable[Alert], now: datetime.datetime) -> None:
    """Queue the first notices of ``alerts`` (:func:`notice_route`) and send them once
    the transaction commits; where the first step reaches nobody (no supervisor, a closed
    account, no address), the next step is queued at once instead of waiting.

    Call inside the transaction that created the alerts. The sending runs after COMMIT
    (``transaction.on_commit``), robustly: an exception there is logged, never raised
    into the client's submission, and the notice stays pending for ``send-due``.
    """
    ids = []
    for alert in alerts:
        chosen = safety_notice_settings_for(alert.organisation_id)
        step, _due_at = notice_route(alert, chosen)[0]
        queued = _queue_step(alert, step, chosen, scheduled_for=now)
        queued += _queue_due_steps(alert, chosen, now)
        ids += [notice.pk for notice, _created in queued if notice.status == MessageStatus.PENDING]
    if ids:
        transaction.on_commit(partial(send_now, ids), robust=True)


def send_now(notice_ids: list[int]) -> delivery.DeliveryReport:
    """Deliver the given pending notices at once (after the submission committed)."""
    report = delivery.DeliveryReport()
    for pk in notice_ids:
        _deliver(pk, timezone.now(), report)
    return report


def escalate_due(now: datetime.datetime) -> int:
    """Queue the later notices of each alert's route (:func:`notice_route`) that are due
    at ``now``; returns the number of new rows.

    Only alerts whose first notice was queued escalate (imports never had one), and only
    while unacknowledged; a step that reached nobody is followed at once
    (:func:`_queue_due_steps`). A step already queued is not queued again: the unique
    (alert, step, channel) lets a concurrent ``send-due`` run find the other's row.
    """
    alerts = (
        Alert.objects.filter(
            kind=AlertKind.CRITICAL_ITEM,
            acknowledged_at__isnull=True,
            notices__isnull=False,
        )
        .exclude(notices__step=NoticeStep.FALLBACK)
        .select_related("episode__therapist__supervisor")
        .distinct()
    )
    clinic_settings: dict[int, SafetyNoticeSettings] = {}
    created = 0
    for alert in alerts:
        if alert.organisation_id not in clinic_settings:
            clinic_settings[alert.organisation_id] = safety_notice_settings_for(
                alert.organisation_id
            )
        chosen = clinic_settings[alert.organisation_id]
        queued = _queue_due_steps(alert, chosen, now)
        created += sum(was_created for _notice, was_created in queued)
    return created


def _queue_due_steps(
    alert: Alert, chosen: SafetyNoticeSettings, now: datetime.datetime
) -> list[tuple[SafetyNotice, bool]]:
    """The notices of the steps after the first of ``alert``'s route that are due at
    ``now`` (each with whether this call created it).

    A step is due at its time in the route, or as soon as the step before it was due if
    that step reached nobody: all its notices skipped (no supervisor, a closed account,
    no address) or failed. A safety answer must not wait two hours for a step that was
    never going to be read.
    """
    route = notice_route(alert, chosen)
    queued: list[tuple[SafetyNotice, bool]] = []
    previous_due = route[0][1]
    for (previous_step, _previous_due_at), (step, due_at) in itertools.pairwise(route):
        if _reached_nobody(alert, previous_step):
            due_at = min(due_at, previous_due)
        if due_at > now:
            break
        queued += _queue_step(alert, step, chosen, scheduled_for=due_at, now=now)
        previous_due = due_at
    return queued


def _reached_nobody(alert: Alert, step: str) -> bool:
    """Whether ``step`` was queued for ``alert`` and every notice of it ended unsent."""
    notices = SafetyNotice.objects.filter(alert=alert, step=step)
    unsent = {MessageStatus.SKIPPED, MessageStatus.FAILED}
    return notices.exists() and not notices.exclude(status__in=unsent).exists()


def deliver_pending(now: datetime.datetime, report: delivery.DeliveryReport) -> None:
    """Send every pending notice whose (next) attempt is due at ``now``."""
    due_ids = list(
        SafetyNotice.objects.filter(
            status=MessageStatus.PENDING, next_attempt_at__lte=now
        ).values_list("pk", flat=True)
    )
    for pk in due_ids:
        _deliver(pk, now, report)


def _queue_step(
    alert: Alert,
    step: str,
    chosen: SafetyNoticeSettings,
    *,
    scheduled_for: datetime.datetime,
    now: datetime.datetime | None = None,
) -> list[tuple[SafetyNotice, bool]]:
    """The notices of ``step`` for ``alert``, one per channel, created when missing
    (each with whether this call created it).

    A step nobody can receive (no supervisor, no address) still gets a skipped row with
    the reason, so staff see on the client page that the escalation went nowhere.
    """
    notices = []
    for channel, recipient, problem in recipients(alert, step, chosen):
        notice, created = SafetyNotice.objects.get_or_create(
            alert=alert,
            step=step,
            channel=channel,
            defaults={
                "recipient": recipient,
                "status": MessageStatus.SKIPPED if problem else MessageStatus.PENDING,
                "last_error": problem,
                "scheduled_for": scheduled_for,
                "next_attempt_at": max(scheduled_for, now or scheduled_for),
            },
        )
        notices.append((notice, created))
    return notices


def recipients(alert: Alert, step: str, chosen: SafetyNoticeSettings) -> list[_Recipient]:
    """Who gets ``step``'s notice of ``alert``, by which channels, under the clinic's
    settings ``chosen`` (see the module docstring)."""
    if step == NoticeStep.FALLBACK:
        found: list[_Recipient] = []
        if chosen.fallback_email:
            found.append((Channel.EMAIL, None, ""))
        if chosen.sms_enabled and chosen.fallback_phone:
            found.append((Channel.SMS, None, ""))
        return found or [(Channel.EMAIL, None, gettext_noop("no fallback contact set"))]
    therapist = alert.episode.therapist if alert.episode_id else None
    person = therapist.supervisor if therapist and step == NoticeStep.SUPERVISOR else therapist
    if person is None:
        problem = (
            gettext_noop("the therapist has no supervisor")
            if therapist
            else gettext_noop("no treating therapist")
        )
        return [(Channel.EMAIL, None, problem)]
    if not person.is_active:
        return [(Channel.EMAIL, person, gettext_noop("the account is closed"))]
    missing = "" if person.email else gettext_noop("no e-mail address on the account")
    found = [(Channel.EMAIL, person, missing)]
    if chosen.sms_enabled and person.mobile_phone:
        found.append((Channel.SMS, person, ""))
    return found


def _deliver(pk: int, now: datetime.datetime, report: delivery.DeliveryReport) -> None:
    """Send one pending notice, or record why not; a concurrent run skips a locked row."""
    with transaction.atomic():
        notice = (
            SafetyNotice.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status=MessageStatus.PENDING)
            .first()
        )
        if notice is None:
            return  # another send-due run has it, or it was sent meanwhile
        alert = Alert.objects.select_related("client__organisation").get(pk=notice.alert_id)
        if alert.acknowledged_at is not None:
            notice.status, notice.last_error = (
                MessageStatus.SKIPPED,
                gettext_noop("alert acknowledged"),
            )
            notice.save(update_fields=["status", "last_error"])
            report.skipped += 1
            return
        delivery.attempt(notice, partial(_send, notice, alert), now=now, report=report)


def _address(notice: SafetyNotice, alert: Alert) -> str:
    if notice.recipient_id is not None:
        person = User.objects.get(pk=notice.recipient_id)
        return person.mobile_phone if notice.channel == Channel.SMS else person.email
    chosen = safety_notice_settings_for(alert.organisation_id)
    return chosen.fallback_phone if notice.channel == Channel.SMS else chosen.fallback_email


def _send(notice: SafetyNotice, alert: Alert) -> None:
    address = _address(notice, alert)
    if not address:
        raise ValueError("no address on file for this recipient")
    subject, body = notice_text(notice, alert)
    if notice.channel == Channel.SMS:
        delivery.sms_sender().send(address, body)
    else:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [address], fail_silently=False)


def notice_text(notice: SafetyNotice, alert: Alert) -> tuple[str, str]:
    """(subject, body) of a notice: no client name, no answers, a sign-in link.

    In the language the recipient reads their staff pages in (``User.language``); the
    clinic's fallback contact, who has no account, gets the installation's language.
    """
    url = settings.SITE_URL + reverse("client-detail", args=[alert.client.public_id])
    recipient = notice.recipient if notice.recipient_id is not None else None
    language = getattr(recipient, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        when = date_format(timezone.localtime(alert.raised_at), _("j M Y H:i"))
        values = {"record": alert.client.record_number, "when": when, "url": url}
        subject = _("Urgent: a check-in result needs review")
        if notice.channel == Channel.SMS:
            return subject, _(
                "Rapport: an urgent check-in result needs review. Record %(record)s, "
                "%(when)s. Sign in: %(url)s"
            ) % values
        reason = _notice_reason(notice.step, alert.about_the_relationship)
        body = _(
            "A client's check-in result needs urgent review.\n\n"
            "Record number: %(record)s\nRaised: %(when)s\n\n%(reason)s\n\n"
            "Sign in to see it and record what was done:\n%(url)s\n\n"
            "This message holds no answers on purpose. Do not reply to it.\n"
            "%(clinic)s"
        ) % {**values, "reason": reason, "clinic": alert.client.organisation.name}
    return subject, body


def _notice_reason(step: str, relationship: bool) -> str:
    """Why the recipient of ``step`` receives the notice (translated by the caller's
    language override)."""
    if step == NoticeStep.THERAPIST:
        return _("You are the client's therapist.")
    if step == NoticeStep.SUPERVISOR and relationship:
        return _(
            "You receive this as the therapist's supervisor: the answer is about the "
            "client's relationship with their therapist, so it comes to you and not to "
            "the therapist. Please follow it up yourself."
        )
    if step == NoticeStep.SUPERVISOR:
        return _(
            "You receive this as the therapist's supervisor: the alert has not been "
            "acknowledged yet."
        )
    if relationship:
        return _(
            "You receive this as the clinic's fallback contact: the therapist's supervisor "
            "has not acknowledged the alert yet."
        )
    return _(
        "You receive this as the clinic's fallback contact: neither the therapist "
        "nor their supervisor has acknowledged the alert yet."
    )
