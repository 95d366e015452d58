"""Session lifetime: idle and absolute timeouts, and sessions that must die."""

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse

from rapport.security import middleware
from rapport.security.models import AuditEvent
from rapport.security.sessions import stored_session_key
from rapport.testing import login_verified, make_organisation, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist(client):
    user = make_user(make_organisation())
    login_verified(client, user)
    return user


def shift_clocks(client, *, signed_in_by=0, last_seen_by=0):
    """Pretend sign-in / the last request happened that many seconds earlier."""
    session = client.session
    session[middleware.SIGNED_IN_AT] -= signed_in_by
    session[middleware.LAST_SEEN_AT] -= last_seen_by
    session.save()


def assert_signed_out(response):
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_sign_in_starts_both_clocks(client, therapist):
    session = client.session
    assert isinstance(session[middleware.SIGNED_IN_AT], int)
    assert session[middleware.SIGNED_IN_AT] == session[middleware.LAST_SEEN_AT]


def test_fourteen_idle_minutes_are_fine(client, therapist):
    shift_clocks(client, signed_in_by=14 * 60, last_seen_by=14 * 60)
    assert client.get(reverse("home")).status_code == 200


def test_fifteen_idle_minutes_end_the_session(client, therapist):
    old_key = client.session.session_key
    assert Session.objects.filter(session_key=stored_session_key(old_key)).exists()
    shift_clocks(client, signed_in_by=15 * 60, last_seen_by=15 * 60)
    assert_signed_out(client.get(reverse("home")))
    assert not Session.objects.filter(session_key=stored_session_key(old_key)).exists()
    event = AuditEvent.objects.get(action="auth.session_expired")
    assert event.detail == {"reason": "idle"}
    assert event.actor_id == therapist.pk


def test_activity_keeps_the_session_alive(client, therapist):
    shift_clocks(client, signed_in_by=10 * 60, last_seen_by=10 * 60)
    assert client.get(reverse("home")).status_code == 200
    shift_clocks(client, last_seen_by=10 * 60)  # 20 minutes since sign-in, 10 idle
    assert client.get(reverse("home")).status_code == 200


def test_twelve_hours_end_the_session_despite_activity(client, therapist):
    shift_clocks(client, signed_in_by=12 * 60 * 60)
    assert_signed_out(client.get(reverse("home")))
    assert AuditEvent.objects.get(action="auth.session_expired").detail == {"reason": "absolute"}


def test_a_session_without_clocks_is_not_trusted(client, therapist):
    session = client.session
    del session[middleware.SIGNED_IN_AT]
    session.save()
    assert_signed_out(client.get(reverse("home")))


def test_the_expiry_message_is_shown_on_the_sign_in_page(client, therapist):
    shift_clocks(client, last_seen_by=16 * 60)
    page = client.get(reverse("home"), follow=True).content.decode()
    assert "You were signed out" in page


def test_sessions_are_kept_on_the_server_and_die_with_the_browser():
    assert settings.SESSION_ENGINE == "rapport.security.sessions"
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE
    assert settings.SESSION_COOKIE_AGE <= middleware.ABSOLUTE_TIMEOUT_SECONDS


def test_a_password_change_ends_other_sessions(client, therapist):
    therapist.set_password("a brand new long passphrase")
    therapist.save()
    assert_signed_out(client.get(reverse("home")))


def test_deactivation_ends_the_session(client, therapist):
    therapist.is_active = False
    therapist.save()
    assert_signed_out(client.get(reverse("home")))


def test_an_old_session_cookie_after_sign_out_is_useless(client, therapist):
    from django.test import Client

    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    client.post(reverse("logout"))
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert_signed_out(replay.get(reverse("home")))


def test_a_copy_of_the_session_table_yields_no_live_session(client, therapist):
    from django.test import Client

    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(reverse("home")).status_code == 200
    stored_keys = list(Session.objects.values_list("session_key", flat=True))
    assert cookie not in stored_keys
    for stored in stored_keys:
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = stored
        assert_signed_out(replay.get(reverse("home")))


def test_the_session_row_is_found_by_the_hash_of_the_cookie(client, therapist):

    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=stored_session_key(cookie)).exists()
    client.post(reverse("logout"))
    assert not Session.objects.filter(session_key=stored_session_key(cookie)).exists()
