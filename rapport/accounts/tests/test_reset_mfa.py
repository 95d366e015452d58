import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.security.models import AuditEvent
from rapport.testing import login_verified, make_organisation, make_user

pytestmark = pytest.mark.django_db


def test_reset_removes_the_apps_and_ends_only_that_users_sessions(capsys):
    organisation = make_organisation()
    therapist, colleague = make_user(organisation), make_user(organisation)
    theirs, other = Client(), Client()
    login_verified(theirs, therapist)
    login_verified(other, colleague)
    call_command("reset_mfa", therapist.username)
    assert not TOTPDevice.objects.filter(user=therapist).exists()
    assert TOTPDevice.objects.filter(user=colleague).exists()
    assert theirs.get(reverse("home")).url.startswith(reverse("login"))
    assert other.get(reverse("home")).status_code == 200
    event = AuditEvent.objects.get(action="auth.mfa.reset")
    assert event.object_id == str(therapist.public_id)
    assert event.detail == {"via": "command", "removed": 1, "count": 1}
    assert "next sign-in" in capsys.readouterr().out


def test_after_a_reset_the_next_sign_in_leads_to_enrolment(client):
    therapist = make_user(make_organisation())
    TOTPDevice.objects.create(user=therapist, name="old phone", confirmed=True)
    call_command("reset_mfa", therapist.username)
    therapist.refresh_from_db()  # the reset also made the password unusable
    client.force_login(therapist)
    response = client.get(reverse("mfa-verify"))
    assert response.url.startswith(reverse("mfa-enrol"))


def test_an_unknown_username_is_a_clear_error():
    with pytest.raises(CommandError, match="no user with the username 'ghost'"):
        call_command("reset_mfa", "ghost")
