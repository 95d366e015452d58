"""Resend from the worklist: only an open link, to a reachable client; a fresh link goes out."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.links import ensure_due_administrations, issue_link, revoke_link
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
from rapport.testing import add_session, login_verified, make_two_clinics

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinics():
    return make_two_clinics()


@pytest.fixture
def upcoming(clinics):
    session = add_session(clinics.owner_episode, 3, status="scheduled")
    session.scheduled_at = timezone.now() + datetime.timedelta(hours=2)
    session.save()
    ensure_due_administrations(session)  # as the scheduler does: the worklist lists it
    return session


@pytest.fixture
def open_link(upcoming):
    """The link the scheduled invitation carried: the one a resend stands for."""
    return issue_link(upcoming, channel="email").link


def resend(client, user, session):
    login_verified(client, user)
    return client.post(reverse("worklist-resend", args=[session.public_id]), follow=True)


def worklist_page(client, user) -> str:
    login_verified(client, user)
    return client.get(reverse("worklist")).content.decode()


def resend_url(session) -> str:
    return reverse("worklist-resend", args=[session.public_id])


def test_resend_e_mails_a_fresh_working_link_and_is_audited(client, clinics, open_link):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    page = resend(client, clinics.owner, open_link.session).content.decode()
    assert "Check-in link for session 3 sent by e-mail." in page
    [message] = mail.outbox
    assert message.to == ["client@example.org"]
    token = re.search(r"/q/([A-Za-z0-9_-]+)/", message.body).group(1)
    link = CheckinMessage.objects.get(session=open_link.session).link
    assert link.token_hash == token_hash(token) and link.channel == "email"
    assert client.get(f"/q/{token}/").status_code == 200
    assert AuditEvent.objects.filter(
        action="checkin.send", object_id=str(open_link.session.public_id), outcome="success"
    )


def test_resending_twice_sends_twice(client, clinics, open_link):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    resend(client, clinics.owner, open_link.session)
    resend(client, clinics.owner, open_link.session)
    assert len(mail.outbox) == 2
    assert CheckinMessage.objects.get(session=open_link.session).status == MessageStatus.SENT


@override_settings(CHECKIN_SMS_SENDER="rapport.checkin.tests.test_delivery.RecordingSms")
def test_a_phone_only_client_gets_a_text_message_where_the_clinic_has_them_on(
    client, clinics, open_link
):
    SENT_SMS.clear()
    ClientIdentity.objects.create(client=clinics.owner_client, phone="+15550100")
    SafetyNoticeSettings.objects.create(organisation=clinics.organisation, sms_enabled=True)
    assert "Resend link" in worklist_page(client, clinics.owner)
    page = resend(client, clinics.owner, open_link.session).content.decode()
    assert "sent by text message" in page
    assert SENT_SMS[0][0] == "+15550100"


def test_the_button_is_shown_only_for_an_open_link_to_a_reachable_client(client, clinics, upcoming):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    # No link yet: the row offers to create one on the client page, not a resend.
    page = worklist_page(client, clinics.owner)
    assert resend_url(upcoming) not in page and "Create a link" in page
    link = issue_link(upcoming, channel="email").link
    assert resend_url(upcoming) in worklist_page(client, clinics.owner)
    revoke_link(link)
    assert resend_url(upcoming) not in worklist_page(client, clinics.owner)


def test_no_button_for_a_client_without_a_usable_channel(client, clinics, open_link):
    # A phone number only, and the clinic has not switched text messages on.
    ClientIdentity.objects.create(client=clinics.owner_client, phone="+15550100")
    page = worklist_page(client, clinics.owner)
    assert resend_url(open_link.session) not in page and "Client not reachable" in page


@pytest.mark.parametrize("closed", ["used", "revoked", "expired", "none"])
def test_a_post_for_a_link_that_cannot_be_resent_says_why_and_sends_nothing(
    client, clinics, upcoming, closed
):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    if closed != "none":
        link = issue_link(upcoming, channel="email").link
        now = timezone.now()
        field = {"used": "used_at", "revoked": "revoked_at", "expired": "expires_at"}[closed]
        CheckinLink.objects.filter(pk=link.pk).update(**{field: now})
    response = resend(client, clinics.owner, upcoming)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Not sent to" in page
    expected = {
        "used": "already completed",
        "revoked": "was revoked",
        "expired": "has expired",
        "none": "no open check-in link",
    }[closed]
    assert expected in page and "Create a new link on the client page" in page
    assert mail.outbox == []
    assert not CheckinMessage.objects.exists()
    assert AuditEvent.objects.filter(action="checkin.send", outcome="denied")


def test_no_contact_details_sends_nothing_and_says_so(client, clinics, open_link):
    page = resend(client, clinics.owner, open_link.session).content.decode()
    assert "no e-mail address or mobile number on file" in page
    assert mail.outbox == []
    assert not CheckinMessage.objects.exists()


def test_a_client_who_stopped_check_ins_is_not_contacted(client, clinics, open_link):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    CheckinPreference.objects.create(client=clinics.owner_client, stopped_at=timezone.now())
    page = resend(client, clinics.owner, open_link.session).content.decode()
    assert "stopped check-ins" in page
    assert mail.outbox == []


def test_another_therapist_cannot_resend(client, clinics, open_link):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    login_verified(client, clinics.colleague)
    assert client.post(resend_url(open_link.session)).status_code == 404
    login_verified(client, clinics.outsider)
    assert client.post(resend_url(open_link.session)).status_code == 404
    assert mail.outbox == []
