"""Clinicians read instruments and items by their titles, never by their ids (#17.5)."""

import pytest
from django.urls import reverse
from django.utils import translation

from rapport.core.instruments import instruments
from rapport.testing import add_score, login_verified, make_two_clinics
from rapport.workspace.titles import instrument_title, short_title

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinics():
    return make_two_clinics()


def test_sessions_table_and_plan_name_instruments_by_title(client, clinics):
    add_score(clinics.owner_episode.sessions.get(number=1), "phq9", 9, construct="outcome")
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    page = page.content.decode()
    assert "PHQ-9 (completed)" in page
    assert "phq9 (" not in page
    plan = page[page.index("Measurement plan") :]
    assert "Trust &amp; Respect check-in: every" in plan
    assert "rapport_trust:" not in page


def test_titles_follow_the_readers_language_and_fall_back_to_english_then_the_id():
    trust = instruments()["rapport_trust"]
    with translation.override("es"):
        assert short_title(trust) == "Breve valoración de confianza y respeto"
    with translation.override("de"):
        assert short_title(trust) == "Trust & Respect check-in"
    assert instrument_title("phq9") == "PHQ-9"
    assert instrument_title("retired_scale") == "retired_scale"
