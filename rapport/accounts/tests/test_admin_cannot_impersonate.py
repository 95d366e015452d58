"""Finding #15.3: a clinic admin must not be able to become a member of staff.

The attack, before the fix: the admin gives a member their first password, later resets
the member's authenticator app, signs in with that password (still valid: staff had no
way to change it) and enrols an authenticator of their own.
"""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.models import Role, User
from rapport.security.models import AuditEvent

pytestmark = pytest.mark.django_db
ADMIN_SET = "plum orchard at dawn 42"
MEMBER_CHOSEN = "seven quiet herons over the lake"


def create_member(admin_client) -> User:
    response = admin_client.post(
        reverse("staff-create"),
        {
            "username": "noor.h",
            "first_name": "Noor",
            "last_name": "Haddad",
            "email": "noor@example.org",
            "role": Role.THERAPIST,
            "password1": ADMIN_SET,
            "password2": ADMIN_SET,
        },
    )
    assert response.status_code == 302
    return User.objects.get(username="noor.h")


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_the_admin_cannot_sign_in_after_resetting_the_members_app(clinics, admin_client):
    member = create_member(admin_client)
    # The member chooses their own password at first sign-in and enrols their phone.
    sign_in(Client(), member.username, ADMIN_SET)
    member.set_password(MEMBER_CHOSEN)
    member.must_change_password = False
    member.save()
    TOTPDevice.objects.create(user=member, name="their phone", confirmed=True)

    admin_client.post(reverse("staff-reset-mfa", args=[member.public_id]))
    attacker = Client()
    response = sign_in(attacker, member.username, ADMIN_SET)
    assert "_auth_user_id" not in attacker.session
    assert response.status_code == 200
    # Not even the member's own password works any more: it was invalidated with the app.
    response = sign_in(attacker, member.username, MEMBER_CHOSEN)
    assert "_auth_user_id" not in attacker.session
    assert not TOTPDevice.objects.filter(user=member).exists()


def test_a_password_an_admin_set_never_opens_a_session(clinics, admin_client):
    member = create_member(admin_client)
    browser = Client()
    response = sign_in(browser, member.username, ADMIN_SET)
    assert response.status_code == 302
    assert response.url.startswith(reverse("password-choose"))
    assert "_auth_user_id" not in browser.session
    # Nothing else opens before the new password: not the MFA enrolment, not the caseload.
    assert browser.get(reverse("mfa-enrol")).url.startswith(reverse("login"))
    assert browser.get(reverse("home")).url.startswith(reverse("login"))


def test_choosing_a_new_password_leads_to_mfa_enrolment(clinics, admin_client):
    member = create_member(admin_client)
    browser = Client()
    sign_in(browser, member.username, ADMIN_SET)
    same = browser.post(
        reverse("password-choose"), {"new_password1": ADMIN_SET, "new_password2": ADMIN_SET}
    )
    assert same.status_code == 200
    assert "_auth_user_id" not in browser.session
    response = browser.post(
        reverse("password-choose"),
        {"new_password1": MEMBER_CHOSEN, "new_password2": MEMBER_CHOSEN},
    )
    assert response.status_code == 302
    assert browser.session["_auth_user_id"] == str(member.pk)
    assert browser.get(reverse("home")).url.startswith(reverse("mfa-verify"))
    member.refresh_from_db()
    assert not member.must_change_password
    assert member.check_password(MEMBER_CHOSEN)
    assert AuditEvent.objects.filter(
        action="auth.password.change", object_id=str(member.public_id), detail__via="temporary"
    ).exists()
    # The admin's password is gone for good.
    assert "_auth_user_id" not in _signed_in(member.username, ADMIN_SET).session


def _signed_in(username, password) -> Client:
    client = Client()
    sign_in(client, username, password)
    return client


def test_an_mfa_reset_invalidates_the_password_and_tells_the_member(clinics, admin_client):
    owner = clinics.owner
    owner.email = "owner@example.org"
    owner.save()
    admin_client.post(reverse("staff-reset-mfa", args=[owner.public_id]))
    owner.refresh_from_db()
    assert not owner.has_usable_password()
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]
    assert "two-step sign-in" in mail.outbox[0].subject.lower()


def test_the_reset_mfa_command_also_invalidates_the_password(clinics):
    from django.core.management import call_command

    call_command("reset_mfa", clinics.owner.username)
    clinics.owner.refresh_from_db()
    assert not clinics.owner.has_usable_password()
