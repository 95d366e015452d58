"""The data migration to the "last session" wording: pending relationship check-ins move
to the new versions; started and completed ones keep theirs."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from rapport.clinic.models import Administration, AdministrationStatus, MeasurementPlan, PlanEntry
from rapport.core.instruments import instruments
from rapport.testing import (
    add_administration,
    add_answers,
    make_episode,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

migration = importlib.import_module(
    "rapport.clinic.migrations.0007_pending_relationship_checkins_ask_about_the_last_session"
)


def test_pending_relationship_check_ins_take_the_last_session_wording():
    episode = make_episode(make_user(make_organisation()), sessions=3)
    first, second, third = episode.sessions.order_by("number")
    old_trust = instruments().get("rapport_trust", version="2")
    completed = add_answers(first, old_trust, dict.fromkeys(old_trust.item_ids, 6))
    waiting = {
        "rapport_trust": add_administration(second, "rapport_trust", "2"),
        "rapport_alliance": add_administration(second, "rapport_alliance", "2"),
        "rapport_openness": add_administration(second, "rapport_openness", "1"),
    }
    started = add_administration(
        third,
        "rapport_trust",
        "2",
        status=AdministrationStatus.IN_PROGRESS,
        answers={"trust_safe": 6},
    )
    phq9 = add_administration(third, "phq9", "2")

    migration.forwards(apps, None)

    def version(administration: Administration) -> str:
        administration.refresh_from_db()
        return administration.instrument_version

    assert {iid: version(row) for iid, row in waiting.items()} == {
        "rapport_trust": "3",
        "rapport_alliance": "3",
        "rapport_openness": "2",
    }
    assert (version(completed), version(started), version(phq9)) == ("2", "2", "2")
    # What they now show is the newest wording, about the last session.
    newest = instruments().get("rapport_openness", version="2")
    assert "last session" in newest.item("openness_today").text["en"]

    migration.backwards(apps, None)
    assert version(waiting["rapport_openness"]) == "1"
    assert version(waiting["rapport_trust"]) == "2"


def test_plans_give_rapports_relationship_check_ins_from_session_2():
    plans = importlib.import_module(
        "rapport.clinic.migrations.0008_relationship_checkins_start_at_session_2"
    )
    organisation = make_organisation()
    plan = MeasurementPlan.objects.create(organisation=organisation, name="Old plan")
    for position, (instrument_id, first) in enumerate(
        [("rapport_trust", 1), ("rapport_alliance", 3), ("phq9", 1), ("rapport_openness", 1)]
    ):
        PlanEntry.objects.create(
            plan=plan, instrument_id=instrument_id, first_session=first, position=position
        )

    plans.forwards(apps, None)

    starts = dict(plan.entries.values_list("instrument_id", "first_session"))
    assert starts == {
        "rapport_trust": 2,
        "rapport_alliance": 3,
        "phq9": 1,
        "rapport_openness": 2,
    }
    plan.refresh_from_db()
    assert plan.instruments_due(1) == ["phq9"]
