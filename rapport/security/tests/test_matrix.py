"""The authorization matrix (authorization_matrix.yaml), cell by cell, and its completeness.

Each test id reads ``url-METHOD-persona``, so a failure names the exact combination.
"""

from __future__ import annotations

import re
import types
import uuid
from pathlib import Path

import pytest
import yaml
from django.http import HttpResponse
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, path, resolve, reverse

from rapport import urls as root_urls
from rapport.security.access import view_access
from rapport.testing import (
    add_checkin_link,
    api_token,
    bearer,
    login_verified,
    make_two_clinics,
)

MATRIX_FILE = Path(__file__).resolve().parents[1] / "authorization_matrix.yaml"
METHODS = ("GET", "POST")


def load_matrix() -> dict:
    matrix = yaml.safe_load(MATRIX_FILE.read_text(encoding="utf-8"))
    personas = matrix["personas"]
    for name, row in matrix["urls"].items():
        methods = [key for key in row if key != "kwargs"]
        if not methods or any(method not in METHODS for method in methods):
            raise ValueError(f"{name}: methods must be among {METHODS}, got {methods}")
        for method in methods:
            if list(row[method]) != personas:
                raise ValueError(f"{name} {method}: list every persona, in order: {personas}")
    return matrix


MATRIX = load_matrix()
CELLS = [
    pytest.param(name, method, persona, status, id=f"{name}-{method}-{persona}")
    for name, row in MATRIX["urls"].items()
    for method in METHODS
    if method in row
    for persona, status in row[method].items()
]


def url_names(patterns=None, prefix: str = "") -> tuple[set[str], list[str]]:
    """(names, unnamed routes) of every URL pattern reachable from the root URLconf."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    names: set[str] = set()
    unnamed: list[str] = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner_names, inner_unnamed = url_names(pattern.url_patterns, route)
            if pattern.namespace:  # reversed as "namespace:name", so listed that way
                inner_names = {f"{pattern.namespace}:{name}" for name in inner_names}
            names |= inner_names
            unnamed += inner_unnamed
        elif isinstance(pattern, URLPattern):
            if pattern.name:
                names.add(pattern.name)
            else:
                unnamed.append(route)
    return names, unnamed


def unlisted_urls() -> set[str]:
    names, unnamed = url_names()
    return (names - set(MATRIX["urls"])) | {f"<unnamed {route}>" for route in unnamed}


# --- completeness --------------------------------------------------------------------


def test_every_url_pattern_is_in_the_matrix():
    assert unlisted_urls() == set(), "add these URLs to authorization_matrix.yaml"


def test_every_url_in_the_matrix_still_exists():
    names, _ = url_names()
    assert set(MATRIX["urls"]) - names == set(), "remove these stale rows from the matrix"


def _urlconf_with_extra_patterns() -> types.ModuleType:
    def extra_view(request):
        return HttpResponse("extra")

    module = types.ModuleType("urlconf_with_extra_patterns")
    module.urlpatterns = [
        *root_urls.urlpatterns,
        path("extra/", extra_view, name="not-in-the-matrix"),
        path("unnamed/", extra_view),
    ]
    return module


def test_the_completeness_check_catches_an_unlisted_url():
    with override_settings(ROOT_URLCONF=_urlconf_with_extra_patterns()):
        assert unlisted_urls() == {"not-in-the-matrix", "<unnamed unnamed/>"}
    assert unlisted_urls() == set()


# --- every cell ----------------------------------------------------------------------


@pytest.fixture
def clinics(db):
    clinics = make_two_clinics()
    add_checkin_link(clinics)  # the link_holder's token (kwargs value link_token)
    return clinics


def sign_in_as(client, clinics, persona: str, url: str = "") -> dict[str, str]:
    """Sign the persona in; returns the headers to send (an API token for /api/ URLs)."""
    if url.startswith("/api/"):
        # The API ignores sessions: staff personas hold a token with every scope, the
        # others none (so the matrix shows what each role reaches through the API).
        if persona in {"anonymous", "link_holder", "password_only"}:
            return {}
        return bearer(api_token(clinics.staff[persona], ("read", "write", "identity")))
    if persona in {"anonymous", "link_holder"}:
        return {}
    if persona == "password_only":
        client.force_login(clinics.owner)
        return {}
    login_verified(client, clinics.staff[persona])
    return {}


# A well-formed check-in token that was never issued: what everyone but the link holder has.
UNISSUED_TOKEN = "A" * 43


def url_for(name: str, clinics, persona: str = "owner") -> str:
    kwargs = {
        key: (
            (clinics.checkin_link.token if persona == "link_holder" else UNISSUED_TOKEN)
            if value == "link_token"
            else value
            if isinstance(value, int)  # a number in the path, e.g. a session number
            else getattr(clinics, value).public_id
        )
        for key, value in MATRIX["urls"][name].get("kwargs", {}).items()
    }
    return reverse(name, kwargs=kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "method", "persona", "expected"), CELLS)
def test_matrix_cell(client, clinics, name, method, persona, expected):
    url = url_for(name, clinics, persona)
    headers = sign_in_as(client, clinics, persona, url)
    response = (
        client.get(url, headers=headers) if method == "GET" else client.post(url, headers=headers)
    )
    assert response.status_code == expected, f"{method} {name} as {persona}"
    if expected == 302 and view_access(resolve(url).func) == "staff":
        target = "login" if persona in {"anonymous", "link_holder"} else "mfa-verify"
        if persona in {"anonymous", "link_holder", "password_only"}:
            assert response.url.startswith(reverse(target)), response.url


# --- cross-organisation and cross-caseload ID tampering -----------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("persona", ["owner", "colleague", "supervisor"])
def test_another_clinics_client_does_not_exist(client, clinics, persona, method):
    login_verified(client, clinics.staff[persona])
    url = reverse("client-detail", args=[clinics.outsider_client.public_id])
    response = client.get(url) if method == "GET" else client.post(url)
    # POST is refused by method first (405) without looking anything up; GET is a 404.
    assert response.status_code == (404 if method == "GET" else 405)


@pytest.mark.django_db
def test_outsider_gets_the_same_404_for_a_real_and_an_unissued_id(client, clinics):
    login_verified(client, clinics.outsider)
    real = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    unissued = client.get(reverse("client-detail", args=[uuid.uuid4()]))
    assert real.status_code == unissued.status_code == 404
    # The styled 404 page carries the sign-out form, whose CSRF token is masked afresh
    # on every response; apart from it the two pages must be byte for byte the same.
    assert _without_csrf(real.content) == _without_csrf(unissued.content)


def _without_csrf(content: bytes) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


@pytest.mark.django_db
def test_episode_and_session_ids_are_not_accepted_as_client_ids(client, clinics):
    login_verified(client, clinics.owner)
    episode_id = clinics.owner_episode.public_id
    response = client.get(reverse("client-detail", args=[episode_id]))
    assert response.status_code == 404


@pytest.mark.django_db
def test_query_string_cannot_widen_the_scope(client, clinics):
    login_verified(client, clinics.colleague)
    url = reverse("client-detail", args=[clinics.owner_client.public_id])
    response = client.get(url, {"therapist": clinics.owner.pk, "organisation": "all"})
    assert response.status_code == 404


# --- CSRF on every POST --------------------------------------------------------------

# API URLs authenticate a bearer token and ignore cookies, so there is no session to forge
# a request with: CSRF does not apply to them (their POST rows test the token instead).
POST_URLS = [
    name for name, row in MATRIX["urls"].items() if "POST" in row and not name.startswith("api-v1:")
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", POST_URLS)
def test_every_post_without_a_csrf_token_is_refused(clinics, name):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    login_verified(client, clinics.owner)
    assert client.post(url_for(name, clinics)).status_code == 403
