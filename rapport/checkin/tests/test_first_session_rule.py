"""A questionnaire about the relationship is never asked before session 2.

It asks about the last session, so at session 1 there is none to rate. The plan page
refuses such a plan (rapport/workspace/tests/test_pages.py), and the check-in keeps the
rule even for a plan written before it: ensure_due_administrations creates nothing before
an instrument's ``first_session`` (docs/instruments.md).
"""

from __future__ import annotations

import pytest

from rapport.checkin.links import ensure_due_administrations
from rapport.clinic.models import MeasurementPlan, PlanEntry
from rapport.core.instruments import instruments
from rapport.testing import add_session, make_episode, make_organisation, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def episode_planned_from_session_1():
    """An episode whose plan (written before the rule) asks trust and PHQ-9 at session 1."""
    therapist = make_user(make_organisation())
    episode = make_episode(therapist)
    plan = MeasurementPlan.objects.create(organisation=therapist.organisation, name="Old plan")
    for position, instrument_id in enumerate(["phq9", "rapport_trust"]):
        PlanEntry.objects.create(
            plan=plan, instrument_id=instrument_id, first_session=1, position=position
        )
    episode.plan = plan
    episode.save(update_fields=["plan"])
    return episode


def test_no_relationship_questionnaire_is_asked_at_session_1(episode_planned_from_session_1):
    assert instruments()["rapport_trust"].first_session == 2
    first = add_session(episode_planned_from_session_1, 1)

    asked = [a.instrument_id for a in ensure_due_administrations(first)]

    assert asked == ["phq9"]
    assert not first.administrations.filter(instrument_id="rapport_trust").exists()


def test_from_session_2_the_plan_asks_it(episode_planned_from_session_1):
    second = add_session(episode_planned_from_session_1, 2)

    asked = [a.instrument_id for a in ensure_due_administrations(second)]

    assert asked == ["phq9", "rapport_trust"]
