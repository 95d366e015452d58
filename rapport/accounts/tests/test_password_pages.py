"""Passwords people choose themselves: change, forgotten (e-mail link), and what never
happens on the way: a session without MFA, a hint that an account exists."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.password_views import RESET_REQUESTS_PER_EMAIL
from rapport.security.models import AuditEvent
from rapport.testing import PASSWORD, login_verified, make_two_clinics

pytestmark = pytest.mark.django_db
NEW = "seven quiet herons over the lake"


@pytest.fixture
def clinics():
    clinics = make_two_clinics()
    clinics.owner.email = "owner@example.org"
    clinics.owner.save()
    return clinics


def change(client, old=PASSWORD, new=NEW):
    return client.post(
        reverse("password-change"),
        {"old_password": old, "new_password1": new, "new_password2": new},
    )


def test_a_member_changes_their_own_password_and_other_sessions_end(clinics):
    mine, elsewhere = Client(), Client()
    login_verified(mine, clinics.owner)
    login_verified(elsewhere, clinics.owner)
    assert change(mine).url == reverse("home")
    clinics.owner.refresh_from_db()
    assert clinics.owner.check_password(NEW)
    assert mine.get(reverse("home")).status_code == 200
    assert elsewhere.get(reverse("home")).url.startswith(reverse("login"))
    assert AuditEvent.objects.filter(
        action="auth.password.change", actor_id=clinics.owner.pk, detail__via="self"
    ).exists()


def test_the_current_password_is_required_and_the_rules_apply(clinics):
    client = Client()
    login_verified(client, clinics.owner)
    assert change(client, old="not my password at all").status_code == 200
    assert change(client, new="aaaaaaaaaaaa").status_code == 200
    clinics.owner.refresh_from_db()
    assert clinics.owner.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="auth.password.change", outcome="failure").count() == 2


def test_a_colleague_cannot_change_anyone_elses_password(clinics):
    # The page has no account parameter: it changes the signed-in member's only.
    client = Client()
    login_verified(client, clinics.colleague)
    change(client)
    clinics.owner.refresh_from_db()
    assert clinics.owner.check_password(PASSWORD)


def forgot(client, email):
    return client.post(reverse("password-forgot"), {"email": email})


def test_forgot_password_answers_the_same_whether_or_not_the_account_exists(clinics):
    known = forgot(Client(), "OWNER@example.org")
    unknown = forgot(Client(), "nobody@example.org")
    assert known.status_code == unknown.status_code == 200

    def text(response):
        page = response.content.decode()
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)

    assert text(known) == text(unknown)
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]


def reset_link() -> str:
    return re.search(r"https?://\S+", mail.outbox[-1].body).group(0)


def test_the_link_sets_a_password_and_sign_in_still_needs_mfa(clinics):
    forgot(Client(), "owner@example.org")
    browser = Client()
    link = reset_link()
    opened = browser.get(link[link.index("/accounts/") :])
    assert opened.url == reverse("password-reset")  # the token leaves the address bar
    response = browser.post(opened.url, {"new_password1": NEW, "new_password2": NEW})
    assert response.url == reverse("login")
    assert "_auth_user_id" not in browser.session
    signed_in = browser.post(
        reverse("login"), {"username": clinics.owner.username, "password": NEW}
    )
    assert signed_in.status_code == 302
    assert browser.get(reverse("home")).url.startswith(reverse("mfa-verify"))
    # Used once: the same link no longer works.
    again = Client()
    again.get(link[link.index("/accounts/") :])
    assert again.get(reverse("password-reset")).context["form"] is None


def test_after_an_mfa_reset_the_link_leads_to_enrolling_a_new_app(clinics):
    TOTPDevice.objects.filter(user=clinics.owner).delete()
    clinics.owner.set_unusable_password()
    clinics.owner.save()
    forgot(Client(), "owner@example.org")
    browser = Client()
    link = reset_link()
    browser.get(link[link.index("/accounts/") :])
    browser.post(reverse("password-reset"), {"new_password1": NEW, "new_password2": NEW})
    browser.post(reverse("login"), {"username": clinics.owner.username, "password": NEW})
    assert browser.get(reverse("mfa-verify")).url.startswith(reverse("mfa-enrol"))


@pytest.mark.usefixtures("one_rate_limit_window")
def test_forgot_password_is_rate_limited_per_address(clinics):
    for _ in range(RESET_REQUESTS_PER_EMAIL):
        assert forgot(Client(), "owner@example.org").status_code == 200
    assert forgot(Client(), "owner@example.org").status_code == 429
    assert len(mail.outbox) == RESET_REQUESTS_PER_EMAIL


def test_without_email_reset_the_page_points_to_the_clinic_admin(clinics, settings):
    settings.PASSWORD_RESET_BY_EMAIL = False
    response = forgot(Client(), "owner@example.org")
    assert response.status_code == 200
    assert "temporary password" in response.content.decode()
    assert not mail.outbox


def test_a_forged_link_does_nothing(clinics):
    browser = Client()
    browser.get(reverse("password-reset"), {"u": "MQ", "t": "abc-123"})
    response = browser.post(reverse("password-reset"), {"new_password1": NEW, "new_password2": NEW})
    assert response.context["form"] is None
    clinics.owner.refresh_from_db()
    assert clinics.owner.check_password(PASSWORD)


def test_the_choice_page_needs_the_password_step_first(clinics):
    response = Client().post(
        reverse("password-choose"), {"new_password1": NEW, "new_password2": NEW}
    )
    assert response.url == reverse("login")
