"""PHQ-9 and GAD-7 scored by hand from the published rules.

Published rules (Kroenke et al. 2001; Spitzer et al. 2006): every item scores
0-3 and the total is their sum (PHQ-9 0-27, GAD-7 0-21). PHQ-9 bands: 0-4
minimal, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe.
GAD-7 bands: 0-4 minimal, 5-9 mild, 10-14 moderate, 15-21 severe. A total of
10 or more is in the clinical range for both. Any PHQ-9 item 9 answer above 0
raises a risk flag whatever the total.

Missing items (Rapport's rule, stated in each definition): with at most one
item missing the total is prorated as (sum of answered items) x (number of
items) / (number answered), rounded half up; with more missing there is no
total. Expected numbers below are worked out by hand, not by the code.
"""

from __future__ import annotations

import pytest

PHQ9_IDS = [f"phq9_{number}" for number in range(1, 10)]
GAD7_IDS = [f"gad7_{number}" for number in range(1, 8)]


def answers(item_ids: list[str], values: list[int | None]) -> dict[str, int | None]:
    return dict(zip(item_ids, values, strict=True))


@pytest.mark.parametrize(
    ("values", "total", "band", "flags"),
    [
        ([0, 0, 0, 0, 0, 0, 0, 0, 0], 0, "minimal", []),
        ([1, 1, 1, 1, 0, 0, 0, 0, 0], 4, "minimal", []),  # 4: top of minimal
        ([1, 1, 1, 1, 1, 1, 1, 1, 0], 8, "mild", []),
        ([3, 3, 3, 0, 0, 0, 0, 0, 0], 9, "mild", []),  # 9: top of mild
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], 10, "moderate", []),  # 10: at the cutoff
        ([3, 3, 3, 3, 2, 0, 0, 0, 0], 14, "moderate", []),
        ([3, 3, 3, 3, 3, 0, 0, 0, 0], 15, "moderately_severe", []),
        ([3, 3, 3, 3, 3, 2, 2, 0, 0], 19, "moderately_severe", []),
        ([3, 3, 3, 3, 3, 2, 2, 0, 1], 20, "severe", ["critical:phq9_9"]),
        ([3, 3, 3, 3, 3, 3, 3, 3, 3], 27, "severe", ["critical:phq9_9"]),
        ([0, 0, 0, 0, 0, 0, 0, 0, 1], 1, "minimal", ["critical:phq9_9"]),  # flag despite low total
    ],
)
def test_phq9_complete_answers(registry, values, total, band, flags) -> None:
    result = registry["phq9"].score(answers(PHQ9_IDS, values))

    assert result.total == total
    assert result.band == band
    assert result.flags == flags
    assert result.missing == []
    assert result.answered == 9


@pytest.mark.parametrize(("total", "clinical"), [(9, False), (10, True), (27, True)])
def test_phq9_cutoff_is_inclusive(registry, total, clinical) -> None:
    assert registry["phq9"].is_clinical(total) is clinical


def test_phq9_one_missing_item_is_prorated(registry) -> None:
    # Item 4 missing; answered sum 2+1+1+1+1+1+0+0 = 7 over 8 items: 7 * 9 / 8 = 7.875 -> 8.
    result = registry["phq9"].score(answers(PHQ9_IDS, [2, 1, 1, None, 1, 1, 1, 0, 0]))

    assert result.total == 8
    assert result.band == "mild"
    assert result.missing == ["phq9_4"]
    assert result.answered == 8


def test_phq9_prorated_half_rounds_up(registry) -> None:
    # Sum 4 over 8 answered: 4 * 9 / 8 = 4.5, rounded half up to 5 -> mild, not minimal.
    result = registry["phq9"].score(answers(PHQ9_IDS, [1, 1, 1, 1, 0, 0, 0, 0, None]))

    assert result.total == 5
    assert result.estimated is True
    assert result.band == "mild"
    # An unanswered item 9 is not a "no": it is flagged so that someone asks.
    assert result.flags == ["unanswered:phq9_9"]


@pytest.mark.parametrize("version", ["1", "2"])
def test_phq9_missing_risk_item_is_flagged_in_every_version(registry, version) -> None:
    phq9 = registry.get("phq9", version=version)
    answered = phq9.score(answers(PHQ9_IDS, [0] * 9))
    skipped_nine = phq9.score(answers(PHQ9_IDS, [0] * 8 + [None]))
    skipped_other = phq9.score(answers(PHQ9_IDS, [None] + [0] * 8))

    assert answered.flags == [] and answered.estimated is False
    assert skipped_nine.flags == ["unanswered:phq9_9"]
    assert skipped_other.flags == [] and skipped_other.estimated is True


@pytest.mark.parametrize("instrument_id", ["phq9", "gad7"])
def test_functioning_question_is_asked_but_never_scored(registry, instrument_id) -> None:
    instrument = registry[instrument_id]
    difficulty = instrument.item(f"{instrument_id}_difficulty")
    symptoms = dict.fromkeys(instrument.scored_item_ids, 1)

    easy = instrument.score(symptoms | {difficulty.id: 0})
    hard = instrument.score(symptoms | {difficulty.id: 3})
    blank = instrument.score(symptoms)

    assert difficulty.scored is False and difficulty.skippable is True
    assert difficulty.loinc == "69722-7"
    assert [option.label["en"] for option in difficulty.options] == [
        "Not difficult at all",
        "Somewhat difficult",
        "Very difficult",
        "Extremely difficult",
    ]
    assert easy.total == hard.total == blank.total == len(instrument.scored_item_ids)
    # Leaving it blank is not a missing item: the total is exact, not estimated.
    assert blank.missing == [] and blank.estimated is False
    assert instrument.score_range == (0, 3 * len(instrument.scored_item_ids))


def test_phq9_two_missing_items_withhold_the_total_but_not_the_flag(registry) -> None:
    result = registry["phq9"].score(
        {"phq9_1": 3, "phq9_2": 3, "phq9_3": 3, "phq9_5": 3, "phq9_6": 3, "phq9_7": 3, "phq9_9": 2}
    )

    assert result.total is None
    assert result.band is None
    assert result.missing == ["phq9_4", "phq9_8"]
    assert result.flags == ["critical:phq9_9"]
    assert result.answered == 7


def test_phq9_none_counts_as_missing(registry) -> None:
    result = registry["phq9"].score(answers(PHQ9_IDS, [None] * 9))

    assert result.total is None
    assert result.answered == 0
    assert result.missing == PHQ9_IDS


@pytest.mark.parametrize(
    ("values", "total", "band"),
    [
        ([0, 0, 0, 0, 0, 0, 0], 0, "minimal"),
        ([1, 1, 1, 1, 0, 0, 0], 4, "minimal"),
        ([1, 1, 1, 1, 1, 0, 0], 5, "mild"),
        ([3, 3, 3, 0, 0, 0, 0], 9, "mild"),
        ([2, 2, 2, 2, 2, 0, 0], 10, "moderate"),
        ([3, 3, 3, 3, 2, 0, 0], 14, "moderate"),
        ([3, 3, 3, 3, 2, 1, 0], 15, "severe"),
        ([3, 3, 3, 3, 3, 3, 3], 21, "severe"),
    ],
)
def test_gad7_complete_answers(registry, values, total, band) -> None:
    result = registry["gad7"].score(answers(GAD7_IDS, values))

    assert result.total == total
    assert result.band == band
    assert result.flags == []  # GAD-7 has no critical item


def test_gad7_one_missing_item_is_prorated(registry) -> None:
    # Item 4 missing; sum 18 over 6 answered: 18 * 7 / 6 = 21.
    result = registry["gad7"].score(answers(GAD7_IDS, [3, 3, 3, None, 3, 3, 3]))

    assert result.total == 21
    assert result.band == "severe"


def test_gad7_small_prorated_total_rounds_down(registry) -> None:
    # Sum 1 over 6 answered: 1 * 7 / 6 = 1.17 -> 1.
    result = registry["gad7"].score(answers(GAD7_IDS, [1, 0, 0, 0, 0, 0, None]))

    assert result.total == 1
    assert result.band == "minimal"


def test_gad7_two_missing_items_withhold_the_total(registry) -> None:
    result = registry["gad7"].score(answers(GAD7_IDS, [3, 3, 3, None, 3, 3, None]))

    assert result.total is None
    assert result.missing == ["gad7_4", "gad7_7"]


def test_published_reference_values(registry) -> None:
    phq9, gad7 = registry["phq9"], registry["gad7"]

    assert (phq9.reliable_change, gad7.reliable_change) == (6, 4)
    assert (phq9.clinical_cutoff, gad7.clinical_cutoff) == (10, 10)
    assert (phq9.score_range, gad7.score_range) == ((0, 27), (0, 21))
    assert (phq9.loinc, phq9.total_loinc, gad7.loinc, gad7.total_loinc) == (
        "44249-1",
        "44261-6",
        "69737-5",
        "70274-6",
    )
    assert phq9.item("phq9_9").loinc == "44260-8"
    assert [item.loinc for item in gad7.items] == [
        "69725-0",
        "68509-9",
        "69733-4",
        "69734-2",
        "69735-9",
        "69689-8",
        "69736-7",
        "69722-7",
    ]


def test_result_as_dict_is_json_ready(registry) -> None:
    import json

    result = registry["phq9"].score(answers(PHQ9_IDS, [1, 1, 1, 1, 1, 1, 1, 1, 1]))

    assert json.loads(json.dumps(result.as_dict())) == {
        "instrument": "phq9",
        "version": "2",
        "total": 9,
        "estimated": False,
        "subscales": {},
        "band": "mild",
        "flags": ["critical:phq9_9"],
        "missing": [],
    }
