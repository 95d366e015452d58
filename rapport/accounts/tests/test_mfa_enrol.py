import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.security.models import AuditEvent
from rapport.testing import make_organisation, make_user, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def newcomer(client):
    """A therapist who has just given the right password and has no authenticator app."""
    user = make_user(make_organisation())
    client.force_login(user)
    return user


def test_without_an_app_the_mfa_step_leads_to_enrolment(client, newcomer):
    response = client.get(reverse("home"))
    assert response.url.startswith(reverse("mfa-verify"))
    response = client.get(response.url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa-enrol"))
    assert "next=%2F" in response.url


def test_enrolment_shows_a_qr_code_and_the_secret(client, newcomer):
    page = client.get(reverse("mfa-enrol")).content.decode()
    device = TOTPDevice.objects.get(user=newcomer)
    assert not device.confirmed
    assert 'src="data:image/svg+xml' in page
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1)
    import base64

    assert base64.b32decode(secret.replace(" ", "")) == device.bin_key
    # Reloading keeps the same secret (the app may already have scanned it).
    client.get(reverse("mfa-enrol"))
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1


def test_a_right_code_confirms_the_app_and_completes_sign_in(client, newcomer):
    client.get(reverse("mfa-enrol"))
    device = TOTPDevice.objects.get(user=newcomer)
    session_key = client.session.session_key
    response = client.post(reverse("mfa-enrol"), {"code": totp_code(device), "next": "/clients/"})
    assert response.status_code == 302
    assert response.url == "/clients/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.session.session_key != session_key
    assert client.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(
        action="auth.mfa.enrol", outcome="success", actor_id=newcomer.pk
    ).exists()


def test_a_wrong_code_confirms_nothing(client, newcomer):
    client.get(reverse("mfa-enrol"))
    device = TOTPDevice.objects.get(user=newcomer)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa-enrol"), {"code": wrong})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert client.get(reverse("home")).url.startswith(reverse("mfa-verify"))
    assert AuditEvent.objects.filter(action="auth.mfa.enrol", outcome="failure").exists()


@pytest.mark.parametrize("code", ["", "12345", "abcdef", "1234567"])
def test_malformed_codes_are_refused_with_a_clear_message(client, newcomer, code):
    client.get(reverse("mfa-enrol"))
    response = client.post(reverse("mfa-enrol"), {"code": code})
    assert response.status_code == 200
    assert not TOTPDevice.objects.filter(user=newcomer, confirmed=True).exists()


def test_a_user_with_an_app_cannot_add_another_with_the_password_alone(client, newcomer):
    TOTPDevice.objects.create(user=newcomer, name="phone", confirmed=True)
    response = client.get(reverse("mfa-enrol"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa-verify"))
    response = client.post(reverse("mfa-enrol"), {"code": "123456"})
    assert response.url.startswith(reverse("mfa-verify"))
    assert TOTPDevice.objects.filter(user=newcomer).count() == 1


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(reverse("mfa-enrol"))
    assert response.url.startswith(reverse("login"))
