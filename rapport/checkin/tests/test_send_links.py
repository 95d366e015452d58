"""Staff send a check-in by e-mail or SMS from the QR page and the client page."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.models import (
    CheckinLink,
    CheckinMessage,
    CheckinPreference,
    MessageStatus,
    SafetyNoticeSettings,
)
from rapport.checkin.tests.test_delivery import SENT_SMS
from rapport.checkin.tokens import token_hash
from rapport.clinic.models import ClientIdentity
from rapport.security.models import AuditEvent
from rapport.testing import login_verified, schedule_next_session

pytestmark = pytest.mark.django_db


def contact(clinics, **fields) -> None:
    ClientIdentity.objects.create(client=clinics.owner_client, **fields)


def sms_on(clinics) -> None:
    SafetyNoticeSettings.objects.create(organisation=clinics.organisation, sms_enabled=True)


def send_url(link) -> str:
    return reverse("checkin-link-send", args=[link.public_id])


def client_page(client, clinics) -> str:
    return client.get(
        reverse("client-detail", args=[clinics.owner_client.public_id])
    ).content.decode()


def qr_page(client, clinics) -> str:
    schedule_next_session(clinics.owner_episode)
    url = reverse("checkin-link-create", args=[clinics.owner_client.public_id])
    return client.post(url).content.decode()


# --- who may send ---------------------------------------------------------------------


def test_the_treating_therapist_sends_by_e_mail_a_fresh_working_link(client, clinics, issued):
    contact(clinics, email="client@example.org")
    login_verified(client, clinics.owner)
    response = client.post(send_url(issued.link), {"channel": "email"}, follow=True)
    page = response.content.decode()
    assert f"Check-in link for session {issued.link.session.number} sent by e-mail." in page
    [message] = mail.outbox
    assert message.to == ["client@example.org"]
    token = re.search(r"/q/([A-Za-z0-9_-]+)/", message.body).group(1)
    sent = CheckinMessage.objects.get(session=issued.link.session)
    assert (sent.status, sent.channel) == (MessageStatus.SENT, "email")
    assert sent.link.token_hash == token_hash(token) and sent.link.channel == "email"
    assert client.get(f"/q/{token}/").status_code == 200
    # The shown link stays open; the status is on the client page the POST returns to.
    assert CheckinLink.objects.get(pk=issued.link.pk).is_open()
    assert "Check-in messages to the client" in page and "Sent" in page
    event = AuditEvent.objects.get(action="checkin.send")
    assert (event.outcome, event.detail["via"], event.actor_id) == (
        "success",
        "email",
        clinics.owner.pk,
    )


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_a_colleague_or_an_outsider_cannot_send(client, clinics, issued, persona):
    contact(clinics, email="client@example.org")
    login_verified(client, getattr(clinics, persona))
    assert client.post(send_url(issued.link), {"channel": "email"}).status_code == 404
    assert mail.outbox == []
    assert not CheckinMessage.objects.exists()
    assert not AuditEvent.objects.filter(action="checkin.send")


def test_the_supervisor_may_send_like_they_may_create_and_revoke(client, clinics, issued):
    contact(clinics, email="client@example.org")
    login_verified(client, clinics.supervisor)
    assert client.post(send_url(issued.link), {"channel": "email"}).status_code == 302
    assert len(mail.outbox) == 1


def test_sending_needs_a_csrf_token(clinics, issued):
    from django.test import Client

    contact(clinics, email="client@example.org")
    browser = Client(enforce_csrf_checks=True)
    login_verified(browser, clinics.owner)
    assert browser.post(send_url(issued.link), {"channel": "email"}).status_code == 403
    assert mail.outbox == []


# --- SMS ------------------------------------------------------------------------------


@override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.RecordingSms")
def test_sms_goes_out_where_the_clinic_has_text_messages_on(client, clinics, issued):
    SENT_SMS.clear()
    contact(clinics, phone="+15550100")
    sms_on(clinics)
    login_verified(client, clinics.owner)
    page = client.post(send_url(issued.link), {"channel": "sms"}, follow=True).content.decode()
    assert "sent by text message" in page
    [(to, body)] = SENT_SMS
    assert to == "+15550100" and "/q/" in body
    assert CheckinMessage.objects.get().channel == "sms"


@override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.RecordingSms")
def test_no_sms_while_the_clinic_has_text_messages_off(client, clinics, issued):
    SENT_SMS.clear()
    contact(clinics, phone="+15550100")
    login_verified(client, clinics.owner)
    assert "Send by SMS" not in client_page(client, clinics)
    page = client.post(send_url(issued.link), {"channel": "sms"}, follow=True).content.decode()
    assert "Not sent: Text messages are switched off for this clinic" in page
    assert SENT_SMS == [] and not CheckinMessage.objects.exists()
    assert AuditEvent.objects.get(action="checkin.send").detail["reason"] == "sms_off"


# --- which buttons are shown where -----------------------------------------------------


def test_the_client_page_offers_the_channels_the_client_has(client, clinics, issued):
    login_verified(client, clinics.owner)
    page = client_page(client, clinics)
    assert "Send by e-mail" not in page and "Send by SMS" not in page
    assert "no e-mail address or mobile number on file" in page
    contact(clinics, email="client@example.org", phone="+15550100")
    page = client_page(client, clinics)
    assert send_url(issued.link) in page
    assert "Send by e-mail" in page and "Send by SMS" not in page
    sms_on(clinics)
    assert "Send by SMS" in client_page(client, clinics)


def test_no_send_button_for_a_client_who_stopped_check_ins(client, clinics, issued):
    contact(clinics, email="client@example.org")
    CheckinPreference.objects.create(client=clinics.owner_client, stopped_at=timezone.now())
    login_verified(client, clinics.owner)
    page = qr_page(client, clinics)
    assert "Send by e-mail" not in page
    assert "stopped check-ins" in page


def test_the_qr_page_offers_sending_the_link(client, clinics):
    contact(clinics, email="client@example.org", phone="+15550100")
    sms_on(clinics)
    login_verified(client, clinics.owner)
    page = qr_page(client, clinics)
    link = CheckinLink.objects.get(channel="print")
    assert send_url(link) in page
    assert "Send by e-mail" in page and "Send by SMS" in page
    client.post(send_url(link), {"channel": "email"})
    assert len(mail.outbox) == 1


# --- refusals: a clear message, never a 500, never a silent send -----------------------


@pytest.mark.parametrize(
    ("field", "sentence"),
    [
        ("used_at", "This check-in was already completed."),
        ("revoked_at", "This link was revoked."),
        ("expires_at", "This link has expired."),
    ],
)
def test_a_closed_link_is_not_sent(client, clinics, issued, field, sentence):
    contact(clinics, email="client@example.org")
    CheckinLink.objects.filter(pk=issued.link.pk).update(**{field: timezone.now()})
    login_verified(client, clinics.owner)
    response = client.post(send_url(issued.link), {"channel": "email"}, follow=True)
    assert response.status_code == 200
    assert f"Not sent: {sentence}" in response.content.decode()
    assert mail.outbox == [] and not CheckinMessage.objects.exists()


@pytest.mark.parametrize("channel", ["", "fax", "kiosk", "a sentence, not a channel"])
def test_an_unknown_channel_is_refused(client, clinics, issued, channel):
    contact(clinics, email="client@example.org")
    login_verified(client, clinics.owner)
    response = client.post(send_url(issued.link), {"channel": channel}, follow=True)
    assert "Not sent: Choose e-mail or text message." in response.content.decode()
    assert mail.outbox == []


def test_a_failed_send_says_so_and_is_retried(client, clinics, issued):
    contact(clinics, phone="+15550100")
    sms_on(clinics)
    login_verified(client, clinics.owner)
    with override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.BrokenSms"):
        response = client.post(send_url(issued.link), {"channel": "sms"}, follow=True)
    page = response.content.decode()
    assert "failed; Rapport tries again at" in page
    message = CheckinMessage.objects.get()
    assert (message.status, message.attempts) == (MessageStatus.PENDING, 1)
    assert "Failed, will retry" in page
    assert AuditEvent.objects.get(action="checkin.send").outcome == "failure"


def test_spanish_staff_messages(client, clinics, issued):
    from django.utils import translation

    from rapport.checkin.sending import reach_of

    with translation.override("es"):
        assert (
            reach_of(clinics.owner_client)
            .why_unreachable()
            .startswith("El cliente no tiene dirección de correo electrónico")
        )
