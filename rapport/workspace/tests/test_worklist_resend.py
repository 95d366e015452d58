"""One-click resend from the worklist: a fresh link goes out now by e-mail or SMS."""

from __future__ import annotations

import datetime
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.models import CheckinMessage, CheckinPreference, MessageStatus
from rapport.checkin.tokens import token_hash
from rapport.clinic.models import ClientIdentity
from rapport.security.models import AuditEvent
from rapport.testing import add_session, login_verified, make_two_clinics

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinics():
    return make_two_clinics()


@pytest.fixture
def overdue(clinics):
    session = add_session(clinics.owner_episode, 3, status="scheduled")
    session.scheduled_at = timezone.now() + datetime.timedelta(hours=2)
    session.save()
    return session


def resend(client, clinics, session):
    login_verified(client, clinics.owner)
    return client.post(reverse("worklist-resend", args=[session.public_id]), follow=True)


def test_resend_e_mails_a_fresh_working_link_and_is_audited(client, clinics, overdue):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    page = resend(client, clinics, overdue).content.decode()
    assert "Check-in sent again" in page
    [message] = mail.outbox
    assert message.to == ["client@example.org"]
    token = re.search(r"/q/([A-Za-z0-9_-]+)/", message.body).group(1)
    link = CheckinMessage.objects.get(session=overdue).link
    assert link.token_hash == token_hash(token)
    assert client.get(f"/q/{token}/").status_code == 200
    assert AuditEvent.objects.filter(action="checkin.resend", object_id=str(overdue.public_id))


def test_resending_twice_sends_twice(client, clinics, overdue):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    resend(client, clinics, overdue)
    resend(client, clinics, overdue)
    assert len(mail.outbox) == 2
    assert CheckinMessage.objects.get(session=overdue).status == MessageStatus.SENT


def test_no_contact_details_sends_nothing_and_says_so(client, clinics, overdue):
    page = resend(client, clinics, overdue).content.decode()
    assert "Not sent" in page
    assert mail.outbox == []
    message = CheckinMessage.objects.get(session=overdue)
    assert (message.status, message.last_error) == (
        MessageStatus.SKIPPED,
        "no e-mail address or phone number on file",
    )


def test_a_client_who_stopped_check_ins_is_not_contacted(client, clinics, overdue):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    CheckinPreference.objects.create(client=clinics.owner_client, stopped_at=timezone.now())
    resend(client, clinics, overdue)
    assert mail.outbox == []
    assert CheckinMessage.objects.get(session=overdue).last_error == "client stopped check-ins"


def test_another_therapist_cannot_resend(client, clinics, overdue):
    ClientIdentity.objects.create(client=clinics.owner_client, email="client@example.org")
    login_verified(client, clinics.colleague)
    response = client.post(reverse("worklist-resend", args=[overdue.public_id]))
    assert response.status_code == 404
    assert mail.outbox == []
