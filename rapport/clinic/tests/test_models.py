import datetime

import pytest
from django.db import IntegrityError

from rapport.clinic import demographics
from rapport.clinic.models import Episode, PlanEntry, Session
from rapport.testing import add_session, make_episode, make_organisation, make_user

pytestmark = pytest.mark.django_db


def test_default_plan_gives_gad7_every_fourth_session():
    organisation = make_organisation()
    plan = organisation.plans.get(is_default=True)
    assert plan.instruments_due(1) == ["rapport_trust", "rapport_alliance", "phq9", "gad7"]
    assert plan.instruments_due(2) == ["rapport_trust", "rapport_alliance", "phq9"]
    assert "gad7" in plan.instruments_due(5)
    assert "gad7" not in plan.instruments_due(4)


def test_plan_entry_with_a_later_first_session_is_not_due_before_it():
    entry = PlanEntry(instrument_id="phq9", every_n_sessions=2, first_session=3)
    assert [n for n in range(1, 10) if entry.is_due(n)] == [3, 5, 7, 9]


def test_closing_an_episode_requires_an_end_date_and_reason():
    episode = make_episode(make_user(make_organisation()))
    episode.status = "closed"
    with pytest.raises(IntegrityError):
        Episode.objects.filter(pk=episode.pk).update(status="closed")


def test_episode_cannot_end_before_it_started():
    episode = make_episode(make_user(make_organisation()))
    with pytest.raises(IntegrityError):
        Episode.objects.filter(pk=episode.pk).update(
            status="closed", end_reason="completed", ended_on=datetime.date(2025, 1, 1)
        )


def test_a_session_number_is_used_once_per_episode():
    episode = make_episode(make_user(make_organisation()))
    add_session(episode, 1)
    with pytest.raises(IntegrityError):
        Session.objects.create(
            episode=episode, number=1, scheduled_at=episode.sessions.get().scheduled_at
        )


@pytest.mark.parametrize(
    ("age", "band"), [(18, "18-25"), (25, "18-25"), (26, "26-35"), (65, "56-65"), (66, "66+")]
)
def test_age_bands(age, band):
    assert demographics.age_band(age) == band


def test_age_band_rejects_minors():
    with pytest.raises(ValueError, match="below 18"):
        demographics.age_band(17)


def test_race_ethnicity_multi_select_is_sorted_and_deduplicated():
    assert demographics.validate_race_ethnicity(["white", "black", "white"]) == ["black", "white"]


@pytest.mark.parametrize(
    ("codes", "message"),
    [(["martian"], "unknown"), (["prefer_not_to_say", "white"], "cannot be combined")],
)
def test_race_ethnicity_rejects_bad_answers(codes, message):
    with pytest.raises(ValueError, match=message):
        demographics.validate_race_ethnicity(codes)
