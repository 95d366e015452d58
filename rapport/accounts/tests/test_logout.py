import pytest
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse

from rapport.security.models import AuditEvent
from rapport.security.sessions import stored_session_key
from rapport.testing import login_verified, make_organisation, make_user

pytestmark = pytest.mark.django_db


def test_sign_out_ends_the_session_and_the_old_cookie_is_worthless(client, settings):
    therapist = make_user(make_organisation())
    login_verified(client, therapist)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert Session.objects.filter(session_key=stored_session_key(cookie)).exists()
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert not Session.objects.filter(session_key=stored_session_key(cookie)).exists()
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert replay.get(reverse("home")).url.startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="auth.logout", actor_id=therapist.pk).count() == 1


def test_sign_out_is_post_only(client):
    therapist = make_user(make_organisation())
    login_verified(client, therapist)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("home")).status_code == 200  # still signed in


def test_sign_out_needs_a_csrf_token():
    therapist = make_user(make_organisation())
    client = Client(enforce_csrf_checks=True)
    login_verified(client, therapist)
    assert client.post(reverse("logout")).status_code == 403


def test_sign_out_works_before_the_mfa_step(client):
    therapist = make_user(make_organisation())
    client.force_login(therapist)
    assert client.post(reverse("logout")).status_code == 302
    assert "_auth_user_id" not in client.session
