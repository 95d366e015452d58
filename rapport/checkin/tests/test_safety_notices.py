"""Safety notices: the therapist is told after COMMIT, and escalation runs until acknowledged."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.core import mail
from django.db import connection, transaction
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from rapport.accounts.models import User
from rapport.checkin import delivery
from rapport.checkin.models import (
    Alert,
    MessageStatus,
    NoticeStep,
    SafetyNotice,
    SafetyNoticeSettings,
)
from rapport.checkin.submit import Outcome
from rapport.checkin.tests.helpers import (
    FALLBACK_EMAIL,
    SUPERVISOR_EMAIL,
    THERAPIST_EMAIL,
    full_answers,
    recipients,
    submit_answers,
)
from rapport.clinic.models import Administration, ClientIdentity
from rapport.clinic.synth_writer import write_synthetic_clinic
from rapport.instruments import load_registry
from rapport.interop.csv_import import CsvImport
from rapport.synth import SynthConfig
from rapport.synth.names import FAMILY_NAMES, GIVEN_NAMES
from rapport.testing import (
    issue_checkin_link,
    login_verified,
    make_two_clinics,
    reads_in,
    schedule_next_session,
)

pytestmark = pytest.mark.django_db

SENT_SMS: list[tuple[str, str]] = []


class RecordingSms:
    def send(self, to: str, body: str) -> None:
        SENT_SMS.append((to, body))


class BrokenEmailBackend:
    """An e-mail backend whose server is down."""

    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages) -> int:
        raise ConnectionRefusedError("mail server down")


@pytest.fixture(autouse=True)
def _clear_sms():
    SENT_SMS.clear()


def _submit(clinics, phq9_item9: int = 2):
    return submit_answers(clinics.owner_episode, full_answers(phq9_item9))


def test_the_therapist_is_emailed_only_after_the_submission_commits(
    reachable, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        assert _submit(reachable).outcome is Outcome.STORED
        # Inside the transaction: queued, not sent.
        assert mail.outbox == []
        assert SafetyNotice.objects.get().status == MessageStatus.PENDING
    assert len(callbacks) == 1
    callbacks[0]()
    assert recipients() == [THERAPIST_EMAIL]
    notice = SafetyNotice.objects.get()
    assert (notice.step, notice.status, notice.recipient) == (
        NoticeStep.THERAPIST,
        MessageStatus.SENT,
        reachable.owner,
    )


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_submission_tells_nobody():
    clinics = make_two_clinics()
    clinics.owner.email = THERAPIST_EMAIL
    clinics.owner.save()

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        assert _submit(clinics).outcome is Outcome.STORED
        raise Abandon
    assert mail.outbox == []
    assert not Alert.objects.exists() and not SafetyNotice.objects.exists()
    # Nothing is left for a later run to send either.
    delivery.send_due(timezone.now() + datetime.timedelta(days=1))
    assert mail.outbox == []


@pytest.mark.django_db(transaction=True)
def test_a_submission_in_its_own_transaction_sends_the_notice():
    # As in a request: the submission commits by itself (pipelined on PostgreSQL) and the
    # notice goes out right after.
    clinics = make_two_clinics()
    clinics.owner.email = THERAPIST_EMAIL
    clinics.owner.save()
    assert _submit(clinics).outcome is Outcome.STORED
    assert recipients() == [THERAPIST_EMAIL]


@pytest.mark.parametrize("channel", ["link", "kiosk"])
def test_a_critical_answer_on_the_client_pages_notifies_the_therapist(
    reachable, client, channel, django_capture_on_commit_callbacks
):
    if channel == "kiosk":
        schedule_next_session(reachable.owner_episode)
        login_verified(client, reachable.owner)
        start = client.post(reverse("checkin-kiosk-start", args=[reachable.owner_client.public_id]))
        form_url = start.url
    else:
        form_url = reverse("checkin-form", args=[issue_checkin_link(reachable.owner_episode).token])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{form_url}submit/", full_answers(phq9_item9=1))
    assert response.status_code == 200
    assert recipients() == [THERAPIST_EMAIL]
    assert SafetyNotice.objects.get().alert.client == reachable.owner_client


def test_no_notice_without_a_critical_answer(reachable, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        _submit(reachable, phq9_item9=0)
    assert mail.outbox == [] and not SafetyNotice.objects.exists()


def test_the_notice_names_no_client_and_quotes_no_answer(
    reachable, django_capture_on_commit_callbacks
):
    client = reachable.owner_client
    ClientIdentity.objects.create(
        client=client, given_name=GIVEN_NAMES[3], family_name=FAMILY_NAMES[5]
    )
    identity = ClientIdentity.objects.get(client=client)  # decrypted as stored
    with django_capture_on_commit_callbacks(execute=True):
        _submit(reachable)
    message = mail.outbox[0]
    text = message.subject + message.body
    assert identity.given_name not in text and identity.family_name not in text
    for leak in ("phq9", "PHQ", "item 9", "self-harm", "2"):
        assert leak not in message.subject
    assert "phq9" not in text.lower() and "critical" not in text.lower()
    assert client.record_number in message.body
    url = "http://127.0.0.1:8000" + reverse("client-detail", args=[client.public_id])
    assert url in message.body


def test_a_failed_send_never_fails_the_submission_and_is_retried(
    reachable, django_capture_on_commit_callbacks
):
    with (
        override_settings(EMAIL_BACKEND=f"{__name__}.BrokenEmailBackend"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert _submit(reachable).outcome is Outcome.STORED
    notice = SafetyNotice.objects.get()
    assert (notice.status, notice.attempts) == (MessageStatus.PENDING, 1)
    assert "ConnectionRefusedError" in notice.last_error
    # The next send-due after the backoff delivers it.
    report = delivery.send_due(notice.next_attempt_at)
    assert report.sent == 1 and recipients() == [THERAPIST_EMAIL]


@override_settings(CHECKIN_SMS_SENDER=f"{__name__}.RecordingSms")
def test_a_text_message_too_where_the_clinic_enables_it_and_the_therapist_has_a_number(
    reachable, django_capture_on_commit_callbacks
):
    reachable.owner.mobile_phone = "+1 202 555 0100"
    reachable.owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        _submit(reachable)
    assert SENT_SMS == []  # the clinic has not switched text messages on

    SafetyNoticeSettings.objects.filter(organisation=reachable.organisation).update(
        sms_enabled=True
    )
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        _submit(reachable)
    assert [to for to, _body in SENT_SMS] == ["+1 202 555 0100"]
    assert reachable.owner_client.record_number in SENT_SMS[0][1]
    assert recipients() == [THERAPIST_EMAIL]


def test_the_mobile_number_is_stored_encrypted(clinics):
    clinics.owner.mobile_phone = "+1 202 555 0100"
    clinics.owner.save()
    with connection.cursor() as cursor:
        cursor.execute("SELECT mobile_phone FROM accounts_user WHERE id = %s", [clinics.owner.pk])
        (raw,) = cursor.fetchone()
    assert "555" not in raw


# --- escalation --------------------------------------------------------------------------


def _alert_raised_at(reachable, django_capture_on_commit_callbacks) -> datetime.datetime:
    with django_capture_on_commit_callbacks(execute=True):
        _submit(reachable)
    mail.outbox.clear()
    return Alert.objects.get().raised_at


def test_escalation_to_the_supervisor_then_the_fallback_contact(
    reachable, django_capture_on_commit_callbacks
):
    raised = _alert_raised_at(reachable, django_capture_on_commit_callbacks)
    minutes = datetime.timedelta(minutes=1)
    hours = datetime.timedelta(hours=1)

    delivery.send_due(raised + 2 * hours - minutes)
    assert mail.outbox == []
    delivery.send_due(raised + 2 * hours)
    assert recipients() == [SUPERVISOR_EMAIL]
    assert "supervisor" in mail.outbox[0].body

    mail.outbox.clear()
    delivery.send_due(raised + 4 * hours - minutes)
    assert mail.outbox == []
    delivery.send_due(raised + 4 * hours)
    assert recipients() == [FALLBACK_EMAIL]

    mail.outbox.clear()
    delivery.send_due(raised + 10 * hours)
    assert mail.outbox == []  # every step once
    assert sorted(SafetyNotice.objects.values_list("step", "status")) == [
        (NoticeStep.FALLBACK, MessageStatus.SENT),
        (NoticeStep.SUPERVISOR, MessageStatus.SENT),
        (NoticeStep.THERAPIST, MessageStatus.SENT),
    ]


def test_the_clinics_intervals_apply(reachable, django_capture_on_commit_callbacks):
    SafetyNoticeSettings.objects.filter(organisation=reachable.organisation).update(
        supervisor_after_minutes=30, fallback_after_minutes=15
    )
    raised = _alert_raised_at(reachable, django_capture_on_commit_callbacks)
    delivery.send_due(raised + datetime.timedelta(minutes=29))
    assert mail.outbox == []
    delivery.send_due(raised + datetime.timedelta(minutes=30))
    assert recipients() == [SUPERVISOR_EMAIL]
    delivery.send_due(raised + datetime.timedelta(minutes=45))
    assert recipients() == [SUPERVISOR_EMAIL, FALLBACK_EMAIL]


def test_acknowledging_the_alert_stops_escalation(
    reachable, client, django_capture_on_commit_callbacks
):
    raised = _alert_raised_at(reachable, django_capture_on_commit_callbacks)
    delivery.send_due(raised + datetime.timedelta(hours=2))
    assert recipients() == [SUPERVISOR_EMAIL]
    mail.outbox.clear()

    alert = Alert.objects.get()
    login_verified(client, reachable.owner)
    response = client.post(
        reverse("episode-acknowledge", args=[reachable.owner_episode.public_id]),
        {
            "target": f"alert:{alert.public_id}",
            "contact_method": "phone",
            "risk_outcome": "no_current_risk",
            "note": "Called the client; safe tonight.",
        },
    )
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None

    delivery.send_due(raised + datetime.timedelta(hours=12))
    assert mail.outbox == []
    assert not SafetyNotice.objects.filter(step=NoticeStep.FALLBACK).exists()


def test_a_pending_escalation_is_not_sent_once_acknowledged(
    reachable, django_capture_on_commit_callbacks
):
    raised = _alert_raised_at(reachable, django_capture_on_commit_callbacks)
    with override_settings(EMAIL_BACKEND=f"{__name__}.BrokenEmailBackend"):
        delivery.send_due(raised + datetime.timedelta(hours=2))
    pending = SafetyNotice.objects.get(step=NoticeStep.SUPERVISOR)
    assert pending.status == MessageStatus.PENDING
    Alert.objects.update(acknowledged_at=timezone.now())
    delivery.send_due(raised + datetime.timedelta(hours=3))
    pending.refresh_from_db()
    assert (pending.status, pending.last_error) == (MessageStatus.SKIPPED, "alert acknowledged")
    assert mail.outbox == []


def test_an_escalation_that_reaches_nobody_is_recorded(clinics, django_capture_on_commit_callbacks):
    # No supervisor, no fallback contact: the steps are recorded as skipped, with why.
    clinics.owner.email, clinics.owner.supervisor = THERAPIST_EMAIL, None
    clinics.owner.save()
    with django_capture_on_commit_callbacks(execute=True):
        _submit(clinics)
    raised = Alert.objects.get().raised_at
    delivery.send_due(raised + datetime.timedelta(hours=5))
    skipped = dict(
        SafetyNotice.objects.filter(status=MessageStatus.SKIPPED).values_list("step", "last_error")
    )
    assert skipped == {
        NoticeStep.SUPERVISOR: "the therapist has no supervisor",
        NoticeStep.FALLBACK: "no fallback contact set",
    }


def test_a_closed_supervisor_account_is_not_notified(reachable, django_capture_on_commit_callbacks):
    raised = _alert_raised_at(reachable, django_capture_on_commit_callbacks)
    reachable.supervisor.is_active = False
    reachable.supervisor.save()
    delivery.send_due(raised + datetime.timedelta(hours=2))
    notice = SafetyNotice.objects.get(step=NoticeStep.SUPERVISOR)
    assert (notice.status, notice.last_error) == (MessageStatus.SKIPPED, "the account is closed")
    # Nobody read the supervisor's step, so the fallback contact is told now, not two
    # hours later.
    assert recipients() == [FALLBACK_EMAIL]


def test_a_first_step_that_reaches_nobody_is_followed_at_once(
    reachable, django_capture_on_commit_callbacks
):
    # The therapist's account has no e-mail address: the supervisor hears at once.
    reachable.owner.email = ""
    reachable.owner.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        _submit(reachable)
    assert recipients() == [SUPERVISOR_EMAIL]
    first = SafetyNotice.objects.get(step=NoticeStep.THERAPIST)
    assert (first.status, first.last_error) == (
        MessageStatus.SKIPPED,
        "no e-mail address on the account",
    )
    # The fallback still waits for its own time after a supervisor who was told.
    raised = Alert.objects.get().raised_at
    delivery.send_due(raised + datetime.timedelta(minutes=200))
    assert recipients() == [SUPERVISOR_EMAIL]
    delivery.send_due(raised + datetime.timedelta(minutes=241))
    assert recipients() == [SUPERVISOR_EMAIL, FALLBACK_EMAIL]


def test_a_failed_step_is_followed_without_waiting_for_its_interval(
    reachable, django_capture_on_commit_callbacks
):
    raised = _alert_raised_at(reachable, django_capture_on_commit_callbacks)
    SafetyNotice.objects.filter(step=NoticeStep.THERAPIST).update(status=MessageStatus.FAILED)
    delivery.send_due(raised + datetime.timedelta(minutes=1))
    assert recipients() == [SUPERVISOR_EMAIL]


def test_staff_see_each_notices_status_on_the_client_page(
    reachable, client, django_capture_on_commit_callbacks
):
    raised = _alert_raised_at(reachable, django_capture_on_commit_callbacks)
    with override_settings(EMAIL_BACKEND=f"{__name__}.BrokenEmailBackend"):
        delivery.send_due(raised + datetime.timedelta(hours=2))
    login_verified(client, reachable.supervisor)
    page = client.get(reverse("client-detail", args=[reachable.owner_client.public_id]))
    text = page.content.decode()
    assert "Safety notices sent about these alerts" in text
    assert "Treating therapist" in text and "Sent" in text
    assert "Supervisor" in text and "Pending" in text and "next try" in text


# --- imports and synthetic data ----------------------------------------------------------


def test_imported_answers_raise_the_flag_but_send_nothing(tmp_path, reachable):
    record, therapist = reachable.owner_client.record_number, reachable.owner.username
    path = tmp_path / "results.csv"
    path.write_text(
        "record_number,therapist,episode_start,session_number,session_date,instrument,answers\n"
        f'{record},{therapist},2026-01-05,3,2026-01-26,phq9,"1,1,1,1,1,1,1,1,3"\n',
        encoding="utf-8",
    )
    CsvImport(path, reachable.organisation, load_registry()).run()
    flags = Administration.objects.get(session__number=3, instrument_id="phq9").flags
    assert flags == ["critical:phq9_9"]  # the flag is on file for the caseload
    delivery.send_due(timezone.now() + datetime.timedelta(days=2))
    assert mail.outbox == [] and not SafetyNotice.objects.exists()


def test_a_synthetic_clinic_has_example_addresses_and_leaves_nothing_pending(db):
    config = SynthConfig(seed=3, n_clients=20, anchor=datetime.date(2026, 6, 1))
    organisation = write_synthetic_clinic(
        config, load_registry(), slug="synthetic", name="Synthetic", password="x" * 16
    )
    staff = User.objects.filter(organisation=organisation)
    assert staff.get(username="therapist1").email == "therapist1@example.org"
    assert staff.get(username="supervisor1").email == "supervisor1@example.org"
    assert Administration.objects.exclude(flags=[]).exists()  # safety answers on file
    # Their notices are history (rapport.checkin.synthetic): written as sent or skipped,
    # none pending. A step due after the clinic's "today" is the worker's, as for a real
    # alert, and reaches only the example addresses.
    assert SafetyNotice.objects.exists()
    assert not SafetyNotice.objects.filter(status=MessageStatus.PENDING).exists()
    delivery.send_due(timezone.now() + datetime.timedelta(days=2))
    assert all(to.endswith("@example.org") for sent in mail.outbox for to in sent.to)


# --- concurrency (PostgreSQL) ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_send_due_runs_send_each_step_once():
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is one shared in-memory connection; threads test PG")
    clinics = make_two_clinics()
    clinics.owner.email = THERAPIST_EMAIL
    clinics.owner.save()
    clinics.supervisor.email = SUPERVISOR_EMAIL
    clinics.supervisor.save()
    SafetyNoticeSettings.objects.create(
        organisation=clinics.organisation, fallback_email=FALLBACK_EMAIL
    )
    with override_settings(EMAIL_BACKEND=f"{__name__}.BrokenEmailBackend"):
        _submit(clinics)  # the therapist's notice stays pending: the runs race for it too
    raised = Alert.objects.get().raised_at
    later = raised + datetime.timedelta(hours=5)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            delivery.send_due(later)
        except BaseException as error:  # re-raised by the assertion below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(recipients()) == sorted([FALLBACK_EMAIL, THERAPIST_EMAIL, SUPERVISOR_EMAIL])
    assert SafetyNotice.objects.filter(status=MessageStatus.SENT).count() == 3


def test_the_notice_is_written_in_the_therapists_own_language_not_the_clients(
    reachable, django_capture_on_commit_callbacks
):
    reads_in(reachable.owner, "es")
    with django_capture_on_commit_callbacks(execute=True):
        _submit(reachable)  # the client checked in in English
    [message] = mail.outbox
    assert message.subject == "Urgente: hay que revisar el resultado de un cuestionario"
    assert "Usted es el terapeuta del cliente." in message.body
    assert "Número de expediente:" in message.body
