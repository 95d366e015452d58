"""The data migration to version 2: pending check-ins move, started and completed ones stay."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from rapport.clinic.models import Administration, AdministrationStatus
from rapport.core.instruments import instruments
from rapport.testing import (
    add_administration,
    add_answers,
    make_episode,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db

migration = importlib.import_module("rapport.clinic.migrations.0004_pending_checkins_use_version_2")


def test_pending_check_ins_move_to_version_2_and_the_rest_keep_their_version():
    episode = make_episode(make_user(make_organisation()), sessions=3)
    first, second, third = episode.sessions.order_by("number")
    old_trust = instruments().get("rapport_trust", version="1")
    completed = add_answers(first, old_trust, dict.fromkeys(old_trust.item_ids, 6))
    waiting = add_administration(second, "rapport_trust", "1")
    waiting_phq9 = add_administration(second, "phq9", "1")
    started = add_administration(
        third,
        "rapport_trust",
        "1",
        status=AdministrationStatus.IN_PROGRESS,
        answers={"trust_safe": 6},
    )

    migration.forwards(apps, None)

    versions = dict(
        Administration.objects.values_list("pk", "instrument_version").filter(
            pk__in=[completed.pk, waiting.pk, waiting_phq9.pk, started.pk]
        )
    )
    assert versions == {completed.pk: "1", waiting.pk: "2", waiting_phq9.pk: "2", started.pk: "1"}
    # The completed version-1 administration still scores, unchanged, by version 1.
    completed.refresh_from_db()
    # (judged 6 is reverse-keyed to 2: (7 * 6 + 2) / 8 = 5.5)
    assert completed.total == old_trust.score(completed.answers).total == 5.5


def test_stored_phq9s_with_a_blank_item_9_get_the_unanswered_flag():
    episode = make_episode(make_user(make_organisation()), sessions=2)
    phq9_v1 = instruments().get("phq9", version="1")
    blank = add_answers(episode.sessions.get(number=1), phq9_v1, {"phq9_1": 2, "phq9_2": 1})
    answered = add_answers(
        episode.sessions.get(number=2), phq9_v1, dict.fromkeys(phq9_v1.item_ids, 0)
    )
    # As stored before version 1 raised the flag.
    Administration.objects.filter(pk=blank.pk).update(flags=[])

    migration.forwards(apps, None)
    migration.forwards(apps, None)  # running twice adds nothing

    blank.refresh_from_db()
    answered.refresh_from_db()
    assert blank.flags == ["unanswered:phq9_9"]
    assert answered.flags == []
