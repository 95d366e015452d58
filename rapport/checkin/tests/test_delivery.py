"""Scheduling and sending invitations and reminders; failures are retried and visible."""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from rapport.checkin import delivery
from rapport.checkin.models import (
    CheckinLink,
    CheckinMessage,
    CheckinPreference,
    SafetyNoticeSettings,
)
from rapport.checkin.tokens import token_hash
from rapport.checkin.worklist import worklist_for
from rapport.clinic.models import ClientIdentity
from rapport.testing import add_session

pytestmark = pytest.mark.django_db

SENT_SMS: list[tuple[str, str]] = []


class RecordingSms:
    def send(self, to: str, body: str) -> None:
        SENT_SMS.append((to, body))


class BrokenSms:
    def send(self, to: str, body: str) -> None:
        raise ConnectionError("provider unreachable")


@pytest.fixture
def upcoming(clinics):
    session = add_session(clinics.owner_episode, 3, status="scheduled")
    session.scheduled_at = timezone.now() + datetime.timedelta(hours=10)
    session.save()
    return session


def _identity(clinics, **fields):
    ClientIdentity.objects.create(client=clinics.owner_client, **fields)


def _text_messages(clinics, on: bool) -> None:
    SafetyNoticeSettings.objects.update_or_create(
        organisation=clinics.organisation, defaults={"sms_enabled": on}
    )


def test_invitation_by_email_carries_a_working_link(clinics, upcoming):
    _identity(clinics, email="client@example.org")
    report = delivery.send_due()
    assert (report.scheduled, report.sent) == (2, 1)  # invitation now, reminder later
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    url = next(line for line in body.splitlines() if "/q/" in line)
    assert url.startswith("http://127.0.0.1:8000/q/")
    link = CheckinLink.objects.get()
    assert link.token_hash == token_hash(url.rstrip("/").rsplit("/", 1)[-1])
    assert clinics.owner_client.record_number not in body and "PHQ" not in body
    # Running again sends nothing twice.
    assert delivery.send_due().sent == 0


def test_reminder_goes_out_near_the_session(clinics, upcoming):
    _identity(clinics, email="client@example.org")
    delivery.send_due()
    later = upcoming.scheduled_at - datetime.timedelta(hours=1)
    assert delivery.send_due(later).sent == 1
    assert "Reminder" in mail.outbox[-1].subject


def test_no_reminder_when_the_client_turned_them_off(clinics, upcoming):
    _identity(clinics, email="client@example.org")
    CheckinPreference.objects.create(client=clinics.owner_client, reminders_off=True)
    assert delivery.send_due().scheduled == 1
    assert not CheckinMessage.objects.filter(kind="reminder").exists()


def test_nothing_for_a_client_who_stopped(clinics, upcoming):
    _identity(clinics, email="client@example.org")
    CheckinPreference.objects.create(client=clinics.owner_client, stopped_at=timezone.now())
    assert delivery.send_due().scheduled == 0


@override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.RecordingSms")
def test_sms_when_there_is_only_a_phone_number(clinics, upcoming):
    SENT_SMS.clear()
    _text_messages(clinics, on=True)
    _identity(clinics, phone="+15550100")
    assert delivery.send_due().sent == 1
    assert SENT_SMS[0][0] == "+15550100" and "/q/" in SENT_SMS[0][1]


@override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.RecordingSms")
def test_no_text_message_while_the_clinic_has_them_switched_off(clinics, upcoming):
    SENT_SMS.clear()
    _identity(clinics, phone="+15550100")
    report = delivery.send_due()
    assert report.sent == 0 and SENT_SMS == []
    message = CheckinMessage.objects.get(kind="invitation")
    assert message.status == "skipped" and "switched off" in message.last_error


@override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.RecordingSms")
def test_a_text_message_scheduled_before_the_switch_went_off_is_not_sent(clinics, upcoming):
    SENT_SMS.clear()
    _text_messages(clinics, on=True)
    _identity(clinics, phone="+15550100")
    delivery.send_due()
    assert len(SENT_SMS) == 1  # the invitation
    _text_messages(clinics, on=False)
    later = upcoming.scheduled_at - datetime.timedelta(hours=1)
    assert delivery.send_due(later).sent == 0
    reminder = CheckinMessage.objects.get(kind="reminder")
    assert reminder.status == "skipped" and "switched off" in reminder.last_error
    assert len(SENT_SMS) == 1


def test_console_sms_sender_prints():
    stream = io.StringIO()
    delivery.ConsoleSmsSender(stream).send("+15550100", "hello")
    assert "SMS to +15550100" in stream.getvalue()


@override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.BrokenSms")
def test_failures_are_retried_with_backoff_then_shown_to_staff(clinics, upcoming):
    _text_messages(clinics, on=True)
    _identity(clinics, phone="+15550100")
    now = timezone.now()
    report = delivery.send_due(now)
    assert report.retrying == 1
    message = CheckinMessage.objects.get(kind="invitation")
    assert message.attempts == 1 and "ConnectionError" in message.last_error
    assert message.next_attempt_at == now + delivery.FIRST_RETRY
    assert not CheckinLink.objects.get().is_open()  # the unsent link is closed at once
    for _attempt in range(2, delivery.MAX_ATTEMPTS + 1):
        now = CheckinMessage.objects.get(kind="invitation").next_attempt_at
        delivery.send_due(now)
    message.refresh_from_db()
    assert message.status == "failed" and message.attempts == delivery.MAX_ATTEMPTS
    assert message in worklist_for(clinics.owner).failed_messages


def test_no_contact_details_is_recorded_not_sent(clinics, upcoming):
    report = delivery.send_due()
    assert report.sent == 0
    message = CheckinMessage.objects.get(kind="invitation")
    assert message.status == "skipped" and "no e-mail" in message.last_error


def test_spanish_message_for_a_spanish_speaker(clinics, upcoming):
    from rapport.clinic.models import ClientDemographics

    _identity(clinics, email="client@example.org")
    ClientDemographics.objects.create(client=clinics.owner_client, preferred_language="es")
    delivery.send_due()
    assert mail.outbox[0].subject == "Su breve cuestionario antes de la sesión"


# A Tuesday: 15:30 UTC is 16:30 in Madrid (CET) and 09:30 in Mexico City.
SESSION_AT = datetime.datetime(2026, 12, 15, 15, 30, tzinfo=datetime.UTC)


def _invitation_for(clinics, language: str, **contact) -> str:
    """The body of the invitation sent 10 hours before a session at SESSION_AT."""
    from rapport.clinic.models import ClientDemographics

    session = add_session(clinics.owner_episode, 3, status="scheduled")
    session.scheduled_at = SESSION_AT
    session.save()
    _identity(clinics, **contact)
    _text_messages(clinics, on="phone" in contact)
    ClientDemographics.objects.create(client=clinics.owner_client, preferred_language=language)
    SENT_SMS.clear()
    assert delivery.send_due(SESSION_AT - datetime.timedelta(hours=10)).sent == 1
    return str(mail.outbox[0].body) if mail.outbox else SENT_SMS[0][1]


@override_settings(TIME_ZONE="Europe/Madrid")
def test_spanish_invitation_has_spanish_dates_in_the_clinics_time_zone(clinics):
    body = _invitation_for(clinics, "es", email="client@example.org")
    assert "antes de su sesión del martes, 15 de diciembre de 2026, 16:30:" in body
    assert "Tuesday" not in body and "December" not in body and "Dec" not in body
    closes = re.search(r"Se cierra el (.+)\.\n", body).group(1)
    # The closing time reads the same way (weekday, day "de" month "de" year, time).
    assert re.fullmatch(r"[a-záéíóúñ]+, \d{1,2} de [a-z]+ de \d{4}, \d{2}:\d{2}", closes)


@override_settings(TIME_ZONE="Europe/Madrid")
def test_english_invitation_has_english_dates_in_the_clinics_time_zone(clinics):
    body = _invitation_for(clinics, "en", email="client@example.org")
    assert "before your session on Tuesday, 15 December 2026, 16:30:" in body


@override_settings(
    TIME_ZONE="America/Mexico_City",
    CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.RecordingSms",
)
def test_spanish_text_message_has_spanish_dates_too(clinics):
    body = _invitation_for(clinics, "es", phone="+15550100")
    assert "martes, 15 de diciembre de 2026, 09:30" in body
