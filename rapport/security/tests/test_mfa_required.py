"""No staff page, and no client data, before the MFA step; the demo waiver and its limits."""

import uuid

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from rapport.security.access import view_access
from rapport.security.middleware import mfa_satisfied
from rapport.testing import login_verified, make_two_clinics

pytestmark = pytest.mark.django_db

DUMMY_VALUES = {"uuid": uuid.uuid4, "int": lambda: 1, "str": lambda: "x", "slug": lambda: "x"}


def staff_urls(patterns=None) -> list[str]:
    """A concrete URL for every pattern whose view is not @public or @before_mfa."""
    urls = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            urls += staff_urls(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and view_access(pattern.callback) == "staff":
            converters = pattern.pattern.converters
            kwargs = {
                name: DUMMY_VALUES.get(
                    type(conv).__name__.removesuffix("Converter").lower(), lambda: "x"
                )()
                for name, conv in converters.items()
            }
            urls.append(reverse(pattern.name, kwargs=kwargs))
    return urls


@pytest.fixture
def clinics():
    return make_two_clinics()


def test_there_are_staff_urls_to_check():
    assert reverse("home") in staff_urls()
    assert any(url.startswith("/clients/") for url in staff_urls())


@pytest.mark.parametrize("method", ["get", "post"])
def test_every_staff_url_sends_a_password_only_session_to_the_mfa_step(client, clinics, method):
    client.force_login(clinics.owner)
    for url in staff_urls():
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("mfa-verify")), url


def test_the_client_record_is_not_shown_before_mfa(client, clinics):
    client.force_login(clinics.owner)
    url = reverse("client-detail", args=[clinics.owner_client.public_id])
    response = client.get(url, follow=True)
    assert clinics.owner_client.record_number not in response.content.decode()
    assert response.redirect_chain[0][0].startswith(reverse("mfa-verify"))


def test_the_caseload_is_not_shown_before_mfa(client, clinics):
    client.force_login(clinics.owner)
    response = client.get(reverse("home"), follow=True)
    assert clinics.owner_client.record_number not in response.content.decode()


def test_after_mfa_the_same_pages_open(client, clinics):
    login_verified(client, clinics.owner)
    assert client.get(reverse("home")).status_code == 200
    url = reverse("client-detail", args=[clinics.owner_client.public_id])
    assert client.get(url).status_code == 200


def test_a_device_of_another_user_in_the_session_does_not_count(client, clinics):
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(clinics.owner)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=clinics.colleague).persistent_id
    session.save()
    assert client.get(reverse("home")).url.startswith(reverse("mfa-verify"))


# --- demo waiver ---------------------------------------------------------------------


@override_settings(DEMO_MODE=True)
def test_demo_mode_waives_mfa_behind_the_banner(client, clinics):
    client.force_login(clinics.owner)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    assert "not for real client data" in response.content.decode()


@pytest.mark.parametrize(
    "other_settings",
    [{}, {"DEBUG": True}, {"INSECURE_COOKIES": True}, {"HTTPS_ONLY": False}],
)
def test_without_demo_mode_nothing_waives_mfa(client, clinics, other_settings):
    with override_settings(DEMO_MODE=False, **other_settings):
        client.force_login(clinics.owner)
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("mfa-verify"))


def test_the_banner_is_absent_outside_demo_mode(client, clinics):
    login_verified(client, clinics.owner)
    assert "not for real client data" not in client.get(reverse("home")).content.decode()


@override_settings(DEMO_MODE=True)
def test_every_page_shows_the_banner_in_demo_mode(client, clinics):
    client.force_login(clinics.owner)
    for url in [
        reverse("home"),
        reverse("login"),
        reverse("client-detail", args=[clinics.owner_client.public_id]),
    ]:
        assert "not for real client data" in client.get(url).content.decode(), url


@pytest.mark.parametrize("demo", [True, False])
def test_sign_in_promises_a_code_only_where_one_is_asked_for(client, demo):
    with override_settings(DEMO_MODE=demo):
        page = client.get(reverse("login")).content.decode()
    assert ("asked for a code from your authenticator app" in page) is not demo


def test_mfa_satisfied_needs_a_signed_in_user_even_in_demo_mode(rf):
    from django.contrib.auth.models import AnonymousUser

    request = rf.get("/")
    request.user = AnonymousUser()
    with override_settings(DEMO_MODE=True):
        assert not mfa_satisfied(request)


def test_demo_mode_is_off_unless_rapport_demo_is_set(monkeypatch):
    import importlib

    import rapport.settings as production

    monkeypatch.delenv("RAPPORT_DEMO", raising=False)
    assert importlib.reload(production).DEMO_MODE is False
    monkeypatch.setenv("RAPPORT_DEMO", "1")
    assert importlib.reload(production).DEMO_MODE is True
    monkeypatch.delenv("RAPPORT_DEMO")
    importlib.reload(production)
