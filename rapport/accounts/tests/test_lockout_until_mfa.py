"""Finding #15.16: the right password alone does not wipe the record of failed attempts.

Someone who has the password but not the phone must not be able to reset the lockout
counter by signing in halfway: only a completed second step clears it.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.models import LoginFailure
from rapport.testing import PASSWORD, make_organisation, make_user, totp_code

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist():
    user = make_user(make_organisation())
    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def sign_in(client, username, password=PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_the_password_step_keeps_the_failures(therapist):
    for _ in range(4):
        sign_in(Client(), therapist.username, "not the password at all")
    sign_in(Client(), therapist.username)
    assert LoginFailure.objects.filter(username=therapist.username).count() == 4
    # So one more wrong guess locks the account, whatever the right password did.
    response = sign_in(Client(), therapist.username, "not the password at all")
    assert response.status_code == 429


def test_a_completed_second_step_clears_them(therapist):
    for _ in range(4):
        sign_in(Client(), therapist.username, "not the password at all")
    browser = Client()
    sign_in(browser, therapist.username)
    code = totp_code(therapist.totpdevice_set.get())
    browser.post(reverse("mfa-verify"), {"code": code})
    assert browser.get(reverse("home")).status_code == 200
    assert not LoginFailure.objects.filter(username=therapist.username).exists()
