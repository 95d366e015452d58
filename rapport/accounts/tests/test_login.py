import pytest
from django.urls import reverse

from rapport.accounts.forms import INVALID_LOGIN
from rapport.security.models import AuditEvent
from rapport.testing import PASSWORD, make_organisation, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist():
    return make_user(make_organisation())


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


def test_the_sign_in_page_is_public(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="password"' in response.content


def test_right_password_signs_in_and_goes_to_the_mfa_step(client, therapist):
    response = sign_in(client, therapist.username)
    assert response.status_code == 302
    assert response.url == reverse("home")
    assert client.session["_auth_user_id"] == str(therapist.pk)
    # The password alone does not open the caseload.
    assert client.get(reverse("home")).url.startswith(reverse("mfa-verify"))


def test_wrong_password_and_unknown_user_get_the_same_page(client, therapist):
    wrong = sign_in(client, therapist.username, "not the password at all")
    unknown = sign_in(client, "nobody-by-this-name", "not the password at all")
    assert wrong.status_code == unknown.status_code == 200
    assert str(INVALID_LOGIN) in wrong.content.decode()
    assert str(INVALID_LOGIN) in unknown.content.decode()

    def strip(response):
        page = response.content.decode()
        return page.replace(therapist.username, "USERNAME").replace(
            "nobody-by-this-name", "USERNAME"
        )

    # Identical apart from the echoed username and the CSRF token.
    assert _without_csrf(strip(wrong)) == _without_csrf(strip(unknown))


def _without_csrf(page: str) -> str:
    import re

    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", page)


def test_inactive_account_gets_the_ordinary_failure_message(client, therapist):
    therapist.is_active = False
    therapist.save()
    response = sign_in(client, therapist.username)
    assert response.status_code == 200
    assert str(INVALID_LOGIN) in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_session_key_changes_at_sign_in(client, therapist):
    client.get(reverse("login"))
    session = client.session
    session["something"] = "before sign-in"
    session.save()
    before = session.session_key
    from django.contrib.sessions.models import Session

    from rapport.security.sessions import stored_session_key

    assert Session.objects.filter(session_key=stored_session_key(before)).exists()
    sign_in(client, therapist.username)
    after = client.session.session_key
    assert after != before
    assert not Session.objects.filter(session_key=stored_session_key(before)).exists()


def test_next_is_followed_only_within_the_site(client, therapist):
    response = sign_in(client, therapist.username, next="https://evil.example/")
    assert response.url == reverse("home")
    client.logout()
    response = sign_in(client, therapist.username, next="/clients/")
    assert response.url == "/clients/"


def test_success_and_failure_are_audited_without_the_typed_text(client, therapist):
    sign_in(client, therapist.username, "wrong password here")
    sign_in(client, "typed-secret-maybe", "wrong password here")
    sign_in(client, therapist.username)
    events = list(AuditEvent.objects.filter(action="auth.login").order_by("seq"))
    assert [event.outcome for event in events] == ["failure", "failure", "success"]
    assert events[0].object_id == str(therapist.public_id)
    assert events[1].object_id == ""
    assert events[2].actor_id == therapist.pk
    assert all("typed-secret" not in str(event.detail) for event in events)


def test_get_with_credentials_in_the_query_string_does_not_sign_in(client, therapist):
    response = client.get(reverse("login"), {"username": therapist.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("method", ["put", "delete"])
def test_other_methods_are_refused(client, method):
    assert getattr(client, method)(reverse("login")).status_code == 405


def test_unknown_users_cost_the_same_password_hashing_as_known_ones(client, therapist):
    # Timing would reveal which accounts exist if only known users paid for hashing.
    # Count hashes computed by the configured hasher for a wrong password and for an
    # unknown username: the same work must be done in both cases.
    from unittest import mock

    from django.contrib.auth.hashers import get_hasher

    hasher = get_hasher()
    calls = {}
    for name, username in (("known", therapist.username), ("unknown", "nobody-by-this-name")):
        original = type(hasher).encode
        with mock.patch.object(
            type(hasher), "encode", autospec=True, side_effect=original
        ) as encode:
            sign_in(client, username, "not the password at all")
        calls[name] = encode.call_count
    assert calls["known"] == calls["unknown"] >= 1
