"""Reverse keying, subscales, missing items and flags on the Rapport check-ins, by hand.

Trust: items 1-7, total = mean of the eight items after reverse keying
``trust_judged`` (keyed value = 1 + 7 - answer), rounded half up to 2 decimals.
Safety = safe, judged, discretion, open; respect = respected, understood,
background, honest; each subscale may miss one item, the total two.
Alliance: four 0-10 items, total = sum; version 2 needs all four (version 1 prorated
one missing item).
Version 1 of each stays loaded and scores the administrations given in it unchanged.
"""

from __future__ import annotations

import pytest

from rapport.instruments import AnswerError

TRUST_ORDER = [
    "trust_safe",
    "trust_judged",
    "trust_respected",
    "trust_discretion",
    "trust_understood",
    "trust_background",
    "trust_honest",
    "trust_open",
]


def trust_answers(**overrides: int | None) -> dict[str, int | None]:
    answers: dict[str, int | None] = dict.fromkeys(TRUST_ORDER, 7)
    answers["trust_judged"] = 1  # "strongly disagree" that I felt judged: the best answer
    answers.update(overrides)
    return answers


def test_trust_reverse_keyed_item_counts_as_its_mirror(registry) -> None:
    result = registry["rapport_trust"].score(trust_answers())

    # Judged answered 1 -> keyed 7, so every keyed value is 7.
    assert result.total == 7.0
    assert result.subscales == {"safety": 7.0, "respect": 7.0}
    assert result.band == "high"


def test_trust_feeling_judged_lowers_safety_only(registry) -> None:
    answers = dict.fromkeys(TRUST_ORDER, 6) | {"trust_judged": 7}
    result = registry["rapport_trust"].score(answers)

    # Judged 7 -> keyed 1. Total (6 * 7 + 1) / 8 = 43 / 8 = 5.375 -> 5.38.
    assert result.total == 5.38
    assert result.band == "moderate"
    # Safety (6 + 1 + 6 + 6) / 4 = 4.75; respect 6.
    assert result.subscales == {"safety": 4.75, "respect": 6.0}


def test_trust_mixed_answers_round_half_up(registry) -> None:
    answers = {
        "trust_safe": 5,
        "trust_judged": 3,  # keyed 5
        "trust_respected": 6,
        "trust_discretion": 4,
        "trust_understood": 5,
        "trust_background": 6,
        "trust_honest": 6,
        "trust_open": 4,
    }
    result = registry["rapport_trust"].score(answers)

    # Keyed sum 5 + 5 + 6 + 4 + 5 + 6 + 6 + 4 = 41; 41 / 8 = 5.125 -> 5.13.
    assert result.total == 5.13
    # Safety (5 + 5 + 4 + 4) / 4 = 4.5; respect (6 + 5 + 6 + 6) / 4 = 5.75.
    assert result.subscales == {"safety": 4.5, "respect": 5.75}


def test_trust_neutral_mean_is_in_the_clinical_range(registry) -> None:
    trust = registry["rapport_trust"]
    result = trust.score(dict.fromkeys(TRUST_ORDER, 4))

    assert result.total == 4.0  # judged 4 keys to 4
    assert result.band == "low"
    assert trust.is_clinical(result.total)
    assert not trust.is_clinical(4.01)


def test_trust_missing_items(registry) -> None:
    trust = registry["rapport_trust"]

    two_missing = trust.score(trust_answers(trust_background=None, trust_open=None))
    assert two_missing.total == 7.0
    assert two_missing.subscales == {"safety": 7.0, "respect": 7.0}
    assert two_missing.missing == ["trust_background", "trust_open"]

    safety_gap = trust.score(trust_answers(trust_safe=None, trust_open=None))
    assert safety_gap.total == 7.0
    assert safety_gap.subscales == {"safety": None, "respect": 7.0}

    three_missing = trust.score(
        trust_answers(trust_safe=None, trust_open=None, trust_background=None)
    )
    assert three_missing.total is None
    assert three_missing.band is None


def test_trust_version_1_scores_its_own_items_unchanged(registry) -> None:
    version_1 = registry.get("rapport_trust", version="1")
    old_answers = {
        "trust_safe": 5,
        "trust_judged": 3,
        "trust_respected": 6,
        "trust_confidential": 4,
        "trust_understood": 5,
        "trust_culture": 6,
        "trust_genuine": 6,
        "trust_open": 4,
    }

    result = version_1.score(old_answers)

    assert (result.version, result.total) == ("1", 5.13)
    assert result.subscales == {"safety": 4.5, "respect": 5.75}
    with pytest.raises(AnswerError, match="unknown item"):
        registry["rapport_trust"].score(old_answers)


def test_trust_version_2_revises_the_double_barrelled_items(registry) -> None:
    version_1 = registry.get("rapport_trust", version="1")
    version_2 = registry.get("rapport_trust", version="2")
    changed = set(version_1.item_ids) ^ set(version_2.item_ids)

    assert version_2.version == "2"
    assert changed == {
        "trust_confidential", "trust_culture", "trust_genuine",
        "trust_discretion", "trust_background", "trust_honest",
    }  # fmt: skip
    assert version_2.item("trust_background").text["en"] == (
        "My therapist respected my cultural background."
    )
    assert version_2.item("trust_honest").text["en"] == "My therapist was honest with me."
    # Asked about today, and not promising a privacy the app does not give.
    discretion = version_2.item("trust_discretion").text["en"]
    assert discretion.startswith("Today") and "private" not in discretion
    # "Safe WITH my therapist", as the English asks (not "in a safe space").
    assert version_2.item("trust_safe").text["es"] == "Hoy me sentí seguro(a) con mi terapeuta."
    assert "espacio" not in version_2.item("trust_safe").text["es"]


RELATIONSHIP_IDS = ("rapport_trust", "rapport_alliance", "rapport_openness")


@pytest.mark.parametrize("instrument_id", RELATIONSHIP_IDS)
def test_relationship_check_ins_ask_about_the_last_session_not_today(
    registry, instrument_id
) -> None:
    # The check-in comes before a session: "today" would be a session not yet held.
    newest = registry[instrument_id]
    previous = registry.get(instrument_id, version=str(int(newest.version) - 1))
    assert newest.item_ids == previous.item_ids, "the same questions, the same columns"
    texts = [newest.title, newest.instructions, *(item.text for item in newest.items)]
    english = " ".join(text["en"] for text in texts if text)
    spanish = " ".join(text["es"] for text in texts if text)
    assert "today" not in english.lower() and "hoy" not in spanish.lower()
    assert "last session" in english and "última sesión" in spanish
    assert (
        newest.item(newest.item_ids[0]).text["en"] != previous.item(newest.item_ids[0]).text["en"]
    )


def test_trust_unsafe_answer_raises_a_flag(registry) -> None:
    trust = registry["rapport_trust"]

    assert trust.score(trust_answers(trust_safe=2)).flags == ["critical:trust_safe"]
    assert trust.score(trust_answers(trust_safe=3)).flags == []


def test_alliance_sum_and_subscales(registry) -> None:
    alliance = registry["rapport_alliance"]
    result = alliance.score(alliance.parse_answer_list("8,9,7,10"))

    assert result.total == 34  # 8 + 9 + 7 + 10
    assert result.band == "fair"
    assert result.subscales == {"bond": 8, "agreement": 16}  # goals 9 + approach 7


def test_alliance_needs_all_four_ratings(registry) -> None:
    alliance = registry["rapport_alliance"]
    result = alliance.score(alliance.parse_answer_list("8,9,,10"))

    # No prorating: one of four missing would impute a quarter of the score.
    assert result.total is None
    assert result.band is None
    assert result.subscales == {"bond": 8, "agreement": None}


def test_alliance_version_1_still_prorates_one_missing_item(registry) -> None:
    alliance = registry.get("rapport_alliance", version="1")
    result = alliance.score(alliance.parse_answer_list("8,9,,10"))

    # 27 over 3 answered: 27 * 4 / 3 = 36, marked as an estimate.
    assert result.total == 36
    assert result.estimated is True
    assert result.band == "good"
    assert alliance.score(alliance.parse_answer_list("8,,,10")).total is None


def test_alliance_low_total_is_clinical(registry) -> None:
    alliance = registry["rapport_alliance"]
    result = alliance.score(alliance.parse_answer_list("7,7,7,8"))

    assert result.total == 29
    assert result.band == "low"
    assert alliance.is_clinical(result.total)


def test_openness_single_item(registry) -> None:
    openness = registry["rapport_openness"]

    assert openness.score({"openness_today": 6}).band == "medium"
    assert openness.score({"openness_today": 4}).band == "low"
    assert openness.is_clinical(4)
    assert openness.score({}).total is None
    assert openness.reliable_change is None


def test_provisional_reliable_change_is_computed_from_reliability(registry) -> None:
    # 1.96 * sqrt(2) * SD * sqrt(1 - r): trust 1.96 * 1.41421 * 0.99 * 0.31623 = 0.868;
    # alliance 1.96 * 1.41421 * 6 * 0.38730 = 6.441.
    assert round(registry["rapport_trust"].reliable_change, 3) == 0.868
    assert round(registry["rapport_alliance"].reliable_change, 3) == 6.441
