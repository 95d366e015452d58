"""Sign-in lockout: per username+address, per username, per address; cool-off; no leaks."""

import datetime

import pytest
from django.urls import reverse

from rapport.accounts import lockout
from rapport.accounts.forms import INVALID_LOGIN, LOCKED_OUT
from rapport.accounts.models import LoginFailure
from rapport.security.models import AuditEvent
from rapport.testing import PASSWORD, make_organisation, make_user, totp_code

pytestmark = pytest.mark.django_db

WRONG = "definitely-not-the-password"


@pytest.fixture
def therapist():
    return make_user(make_organisation())


def attempt(client, username, password=WRONG, ip="192.0.2.10"):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def fail(client, username, times, ip="192.0.2.10"):
    for _ in range(times):
        assert attempt(client, username, ip=ip).status_code in {200, 429}


def age_failures(minutes):
    """Move every recorded failure ``minutes`` into the past (instead of sleeping)."""
    for failure in LoginFailure.objects.all():
        failure.occurred_at -= datetime.timedelta(minutes=minutes)
        failure.save()


def test_four_failures_do_not_lock(client, therapist):
    fail(client, therapist.username, 4)
    response = attempt(client, therapist.username, PASSWORD)
    assert response.status_code == 302


def test_five_failures_lock_even_the_right_password(client, therapist):
    fail(client, therapist.username, 5)
    response = attempt(client, therapist.username, PASSWORD)
    assert response.status_code == 429
    assert str(LOCKED_OUT) in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lock_lifts_after_the_cool_off(client, therapist):
    fail(client, therapist.username, 5)
    age_failures(14)
    assert attempt(client, therapist.username, PASSWORD).status_code == 429
    age_failures(2)  # 16 minutes after the fifth failure
    assert attempt(client, therapist.username, PASSWORD).status_code == 302


def test_refused_attempts_while_locked_do_not_extend_the_lock(client, therapist):
    fail(client, therapist.username, 5)
    age_failures(10)
    fail(client, therapist.username, 3)  # refused, not counted
    assert LoginFailure.objects.count() == 5
    age_failures(6)
    assert attempt(client, therapist.username, PASSWORD).status_code == 302


def test_failures_spread_over_more_than_the_window_do_not_lock(client, therapist):
    fail(client, therapist.username, 3)
    age_failures(20)
    fail(client, therapist.username, 3)
    assert attempt(client, therapist.username, PASSWORD).status_code == 302


def test_unknown_usernames_are_locked_exactly_like_real_ones(client, therapist):
    fail(client, "nobody-here", 5)
    fail(client, therapist.username, 5)
    unknown = attempt(client, "nobody-here")
    known = attempt(client, therapist.username)
    assert unknown.status_code == known.status_code == 429
    assert str(LOCKED_OUT) in unknown.content.decode() and str(LOCKED_OUT) in known.content.decode()


def test_before_the_lock_the_message_is_the_ordinary_one(client):
    response = attempt(client, "nobody-here")
    assert str(INVALID_LOGIN) in response.content.decode()


def test_username_case_and_spaces_do_not_dodge_the_count(client, therapist):
    for variant in ["Alice", "ALICE", " alice", "alice ", "aLiCe"]:
        attempt(client, variant)
    assert lockout.locked_until("alice", "192.0.2.10") is not None


def test_the_same_username_from_another_address_is_not_locked_by_the_first_rule(client, therapist):
    fail(client, therapist.username, 5, ip="192.0.2.10")
    assert attempt(client, therapist.username, PASSWORD, ip="198.51.100.7").status_code == 302


def test_guessing_one_username_from_many_addresses_locks_it(client, therapist):
    for number in range(10):
        attempt(client, therapist.username, ip=f"203.0.113.{number + 1}")
    response = attempt(client, therapist.username, PASSWORD, ip="198.51.100.7")
    assert response.status_code == 429


def test_spraying_many_usernames_from_one_address_locks_the_address(client, therapist):
    for number in range(20):
        attempt(client, f"guess{number}")
    assert attempt(client, therapist.username, PASSWORD).status_code == 429
    # A colleague elsewhere is unaffected.
    assert attempt(client, therapist.username, PASSWORD, ip="198.51.100.7").status_code == 302


def test_a_complete_sign_in_clears_the_usernames_failures(client, therapist):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=therapist, name="phone", confirmed=True)
    fail(client, therapist.username, 4)
    assert attempt(client, therapist.username, PASSWORD).status_code == 302
    # The password alone forgives nothing (#15.16); the authenticator code does.
    assert LoginFailure.objects.filter(username=therapist.username).count() == 4
    client.post(reverse("mfa-verify"), {"code": totp_code(device)})
    assert not LoginFailure.objects.filter(username=therapist.username).exists()
    client.logout()
    fail(client, therapist.username, 4)
    assert attempt(client, therapist.username, PASSWORD).status_code == 302


def test_lockout_and_refusals_are_audited(client, therapist):
    fail(client, therapist.username, 5)
    attempt(client, therapist.username, PASSWORD)
    assert AuditEvent.objects.filter(action="auth.lockout", outcome="denied").count() == 1
    refused = AuditEvent.objects.filter(action="auth.login", outcome="denied").get()
    assert refused.detail == {"reason": "locked_out"}
    assert refused.object_id == str(therapist.public_id)
    assert AuditEvent.objects.filter(action="auth.login", outcome="failure").count() == 5


def test_failures_older_than_a_day_are_deleted():
    old = LoginFailure.objects.create(
        username="x", occurred_at=datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)
    )
    lockout.record_failure("y", None)
    assert not LoginFailure.objects.filter(pk=old.pk).exists()
