"""Stored-XSS payloads in every user-controlled text shown on a page render inert."""

import html

import pytest
from django.urls import reverse

from rapport.accounts.models import Role
from rapport.testing import (
    add_score,
    add_session,
    login_verified,
    make_episode,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

# Each fits the shortest field it goes into (record numbers: 40 characters).
PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "'><iframe src=//e.x>",
    "javascript:alert(1)",
    "{{7*7}}{% debug %}",
    "</td></tr><b>x</b>",
    "&lt;script&gt;",
]


def assert_inert(page: str, payload: str) -> None:
    if any(char in payload for char in "<>\"'&"):
        assert payload not in page, f"raw payload rendered: {payload!r}"
    assert html.escape(payload) in page or html.escape(payload, quote=False) in page, (
        f"payload not shown escaped: {payload!r}"
    )


@pytest.fixture
def clinic():
    organisation = make_organisation()
    supervisor = make_user(organisation, Role.SUPERVISOR)
    return organisation, supervisor


@pytest.mark.parametrize("payload", PAYLOADS)
def test_record_numbers_render_inert_on_the_caseload_and_the_record(client, clinic, payload):
    organisation, supervisor = clinic
    therapist = make_user(organisation, supervisor=supervisor)
    episode = make_episode(therapist, record_number=payload)
    login_verified(client, therapist)
    assert_inert(client.get(reverse("home")).content.decode(), payload)
    record = client.get(reverse("client-detail", args=[episode.client.public_id]))
    assert_inert(record.content.decode(), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_staff_names_render_inert_for_themselves_and_their_supervisor(client, clinic, payload):
    organisation, supervisor = clinic
    therapist = make_user(
        organisation, supervisor=supervisor, first_name=payload, last_name=payload
    )
    episode = make_episode(therapist)
    login_verified(client, therapist)
    assert_inert(client.get(reverse("home")).content.decode(), payload)  # page header
    client.logout()
    login_verified(client, supervisor)
    assert_inert(client.get(reverse("home")).content.decode(), payload)  # therapist column
    record = client.get(reverse("client-detail", args=[episode.client.public_id]))
    assert_inert(record.content.decode(), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_score_bands_and_instrument_ids_render_inert(client, clinic, payload):
    organisation, _ = clinic
    therapist = make_user(organisation)
    episode = make_episode(therapist)
    score = add_score(add_session(episode, 1), "rapport_trust", 4.0)
    score.band = payload
    score.save()
    add_score(episode.sessions.get(), payload[:64], 1.0)
    login_verified(client, therapist)
    page = client.get(reverse("client-detail", args=[episode.client.public_id])).content
    assert_inert(page.decode(), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_typed_username_is_echoed_inert_on_the_sign_in_page(client, payload):
    response = client.post(reverse("login"), {"username": payload, "password": "x" * 12})
    assert_inert(response.content.decode(), payload)


@pytest.mark.parametrize("payload", ["javascript:alert(1)", "//evil.example/<script>"])
def test_next_parameter_is_never_reflected_as_given(client, payload):
    page = client.get(reverse("login"), {"next": payload}).content.decode()
    assert payload not in page
