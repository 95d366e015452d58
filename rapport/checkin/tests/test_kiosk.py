"""Kiosk mode: staff start it, the client answers, the tablet locks, staff sign in to leave."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.checkin.kiosk import SESSION_KEY
from rapport.checkin.models import CheckinLink
from rapport.checkin.tests.helpers import full_answers
from rapport.security.models import AuditEvent
from rapport.testing import login_verified

pytestmark = pytest.mark.django_db


def start(client, clinics):
    login_verified(client, clinics.owner)
    return client.post(reverse("checkin-kiosk-start", args=[clinics.owner_client.public_id]))


def test_start_signs_staff_out_and_opens_the_form(client, clinics):
    response = start(client, clinics)
    assert response.status_code == 302 and response.url.startswith("/q/")
    link = CheckinLink.objects.get(channel="kiosk")
    assert link.created_by == clinics.owner
    assert client.session[SESSION_KEY] == str(link.public_id)
    # The staff session is gone: the client cannot wander into staff pages.
    home = client.get(reverse("home"))
    assert home.status_code == 302 and home.url.startswith(reverse("login"))
    assert client.get(response.url).status_code == 200
    assert AuditEvent.objects.filter(action="checkin.kiosk_start").count() == 1


def test_after_submission_the_tablet_locks(client, clinics):
    form_url = start(client, clinics).url
    thanks = client.post(f"{form_url}submit/", full_answers()).content.decode()
    assert reverse("checkin-kiosk-locked") in thanks and "Finish" in thanks
    locked = client.get(reverse("checkin-kiosk-locked")).content.decode()
    assert "This tablet is locked" in locked
    for secret in [clinics.owner_client.record_number, clinics.owner.username]:
        assert secret not in locked and secret not in thanks
    # Going back to the form shows only the closed page.
    assert client.get(form_url).status_code == 410


def test_leaving_kiosk_mode_needs_staff_sign_in(client, clinics):
    start(client, clinics)
    exit_url = reverse("checkin-kiosk-exit")
    response = client.get(exit_url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    client.force_login(clinics.owner)  # password only: still not enough
    assert client.get(exit_url).url.startswith(reverse("mfa-verify"))


def test_leaving_kiosk_mode_closes_the_unfinished_link(client, clinics):
    start(client, clinics)
    session_data = dict(client.session.items())
    login_verified(client, clinics.owner)
    session = client.session
    session[SESSION_KEY] = session_data[SESSION_KEY]
    session.save()
    assert b"This device is in kiosk mode" in client.get(reverse("checkin-kiosk-exit")).content
    response = client.post(reverse("checkin-kiosk-exit"))
    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    assert CheckinLink.objects.get(channel="kiosk").revoked_at is not None
    assert AuditEvent.objects.filter(action="checkin.kiosk_exit").count() == 1


def test_colleague_cannot_start_a_kiosk_for_someone_elses_client(client, clinics):
    login_verified(client, clinics.colleague)
    url = reverse("checkin-kiosk-start", args=[clinics.owner_client.public_id])
    assert client.post(url).status_code == 404
    assert not CheckinLink.objects.exists()
