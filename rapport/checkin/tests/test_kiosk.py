"""Kiosk mode: staff start it, the client answers, the tablet locks, staff sign in to leave."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.kiosk import SESSION_KEY
from rapport.checkin.models import CheckinDraft, CheckinLink, CheckinSubmission
from rapport.checkin.tests.helpers import full_answers
from rapport.security.models import AuditEvent
from rapport.testing import issue_checkin_link, login_verified, schedule_next_session

pytestmark = pytest.mark.django_db


def start(client, clinics):
    """The owner starts the check-in of their client's next session on this device."""
    schedule_next_session(clinics.owner_episode)
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


# --- the kiosk check-in is bound to the tablet and ends when left idle (issue #15, point 12)


def save_on_kiosk(client, form_url):
    client.post(f"{form_url}draft/", {"rapport_trust.trust_safe": "6", "screen": "0"})
    return CheckinDraft.objects.get()


def test_a_kiosk_link_works_only_on_the_kiosk(client, clinics):
    form_url = start(client, clinics).url
    save_on_kiosk(client, form_url)
    elsewhere = Client()
    assert elsewhere.get(form_url).status_code == 410
    assert elsewhere.post(f"{form_url}draft/", {"rapport_trust.trust_safe": "1"}).status_code == 410
    assert elsewhere.post(f"{form_url}submit/", full_answers()).status_code == 410
    assert elsewhere.post(f"{form_url}submit/", {"phq9.phq9_1": "7"}).status_code == 410
    assert elsewhere.get(f"{form_url}preferences/").status_code == 410
    assert not CheckinSubmission.objects.exists()
    assert CheckinDraft.objects.get().answers == {"rapport_trust": {"trust_safe": 6}}
    # On the tablet itself it goes on as before.
    assert client.get(form_url).status_code == 200
    assert client.post(f"{form_url}submit/", full_answers()).status_code == 200


def test_an_idle_kiosk_check_in_closes_and_the_tablet_locks(client, clinics, settings):
    form_url = start(client, clinics).url
    draft = save_on_kiosk(client, form_url)
    idle = datetime.timedelta(minutes=settings.CHECKIN_KIOSK_IDLE_MINUTES, seconds=1)
    CheckinDraft.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - idle)
    response = client.get(form_url)
    assert response.status_code == 302 and response.url == reverse("checkin-kiosk-locked")
    assert CheckinLink.objects.get().revoked_at is not None
    assert not CheckinDraft.objects.exists()
    revoke = AuditEvent.objects.get(action="checkin.link_revoke")
    assert revoke.detail == {"reason": "kiosk_idle"}
    # The next person holding the tablet finds nothing to go back to.
    assert client.get(form_url).status_code in (302, 410)
    assert b"trust_safe" not in client.get(form_url, follow=True).content


def test_a_kiosk_check_in_never_started_closes_after_the_idle_time(client, clinics, settings):
    form_url = start(client, clinics).url
    idle = datetime.timedelta(minutes=settings.CHECKIN_KIOSK_IDLE_MINUTES, seconds=1)
    CheckinLink.objects.update(created_at=timezone.now() - idle)
    assert client.get(form_url).url == reverse("checkin-kiosk-locked")
    assert CheckinLink.objects.get().revoked_at is not None


def test_an_expired_kiosk_link_discards_its_draft(client, clinics):
    form_url = start(client, clinics).url
    save_on_kiosk(client, form_url)
    CheckinLink.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(form_url).url == reverse("checkin-kiosk-locked")
    assert not CheckinDraft.objects.exists()


def test_the_locked_screen_ends_an_unfinished_kiosk_check_in(client, clinics):
    form_url = start(client, clinics).url
    save_on_kiosk(client, form_url)
    assert client.get(reverse("checkin-kiosk-locked")).status_code == 200
    assert CheckinLink.objects.get().revoked_at is not None
    assert not CheckinDraft.objects.exists()
    assert client.get(form_url).status_code in (302, 410)


def test_kiosk_pages_return_to_the_locked_screen_when_idle(client, clinics, settings):
    page = client.get(start(client, clinics).url).content.decode()
    seconds = settings.CHECKIN_KIOSK_IDLE_MINUTES * 60
    assert f'data-kiosk-idle="{seconds}"' in page
    assert f'content="{seconds};url={reverse("checkin-kiosk-locked")}"' in page  # no JavaScript
    assert (
        "data-kiosk-idle"
        not in Client().get(issue_checkin_link(clinics.owner_episode).path).content.decode()
    )


def test_a_kiosk_check_in_is_shown_to_staff_as_done_on_the_tablet(client, clinics):
    form_url = start(client, clinics).url
    client.post(f"{form_url}submit/", full_answers())
    assert CheckinSubmission.objects.get().staff_opened
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert "completed on the clinic tablet" in page.content.decode()
