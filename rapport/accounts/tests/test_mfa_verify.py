import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.security.models import AuditEvent
from rapport.testing import make_organisation, make_user, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist(client):
    """A therapist with an authenticator app who has given the right password."""
    user = make_user(make_organisation())
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    client.force_login(user)
    return user


def test_the_code_page_asks_for_a_code(client, therapist):
    response = client.get(reverse("mfa-verify"))
    assert response.status_code == 200
    assert 'autocomplete="one-time-code"' in response.content.decode()


def test_a_right_code_opens_the_page_asked_for(client, therapist):
    device = TOTPDevice.objects.get(user=therapist)
    session_key = client.session.session_key
    response = client.post(reverse("mfa-verify"), {"code": totp_code(device), "next": "/"})
    assert response.status_code == 302
    assert response.url == "/"
    assert client.session.session_key != session_key
    assert client.get(reverse("home")).status_code == 200
    assert AuditEvent.objects.filter(
        action="auth.mfa.verify", outcome="success", actor_id=therapist.pk
    ).exists()


def test_a_wrong_code_is_refused_and_audited(client, therapist):
    device = TOTPDevice.objects.get(user=therapist)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa-verify"), {"code": wrong})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()
    assert client.get(reverse("home")).url.startswith(reverse("mfa-verify"))
    assert AuditEvent.objects.filter(action="auth.mfa.verify", outcome="failure").exists()


def test_a_code_cannot_be_used_twice(client, therapist):
    device = TOTPDevice.objects.get(user=therapist)
    code = totp_code(device)
    assert client.post(reverse("mfa-verify"), {"code": code}).status_code == 302
    client.post(reverse("logout"))
    client.force_login(therapist)
    response = client.post(reverse("mfa-verify"), {"code": code})
    assert response.status_code == 200
    assert client.get(reverse("home")).url.startswith(reverse("mfa-verify"))


def test_wrong_codes_are_throttled(client, therapist):
    device = TOTPDevice.objects.get(user=therapist)
    wrong = f"{(int(totp_code(device)) + 1) % 1_000_000:06d}"
    client.post(reverse("mfa-verify"), {"code": wrong})
    device.refresh_from_db()
    assert device.throttling_failure_count == 1
    # django-otp doubles the wait after each failure; straight after one, even the right
    # code is refused, so codes cannot be guessed at full speed.
    response = client.post(reverse("mfa-verify"), {"code": totp_code(device)})
    assert response.status_code == 200
    assert client.get(reverse("home")).url.startswith(reverse("mfa-verify"))


def test_an_offsite_next_is_ignored(client, therapist):
    device = TOTPDevice.objects.get(user=therapist)
    response = client.post(
        reverse("mfa-verify"), {"code": totp_code(device), "next": "//evil.example/"}
    )
    assert response.url == reverse("home")


def test_a_verified_user_is_sent_on(client, therapist):
    device = TOTPDevice.objects.get(user=therapist)
    client.post(reverse("mfa-verify"), {"code": totp_code(device)})
    assert client.get(reverse("mfa-verify")).url == reverse("home")


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get(reverse("mfa-verify")).url.startswith(reverse("login"))
