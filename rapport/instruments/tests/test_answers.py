"""Answer validation and answer-list parsing."""

from __future__ import annotations

import math

import pytest

from rapport.instruments import AnswerError


def test_answer_list_empty_fields_are_missing(registry) -> None:
    parsed = registry["gad7"].parse_answer_list("0, 1,2,,3 ,0,")

    assert parsed == {
        "gad7_1": 0,
        "gad7_2": 1,
        "gad7_3": 2,
        "gad7_4": None,
        "gad7_5": 3,
        "gad7_6": 0,
        "gad7_7": None,
    }


def test_answer_list_accepts_float_spelling_of_an_option(registry) -> None:
    parsed = registry["rapport_openness"].parse_answer_list("7.0")

    assert parsed == {"openness_today": 7.0}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0,1,2", r"expected 7 or 8 \(the last 1 unscored and optional\) comma-separated"),
        ("0,1,2,3,0,1,2,3,0", "got 9"),
        ("0,1,two,3,0,1,2", "'two' is not a number"),
        ("0,1,nan,3,0,1,2", "not a finite number"),
        ("0,1,4,3,0,1,2", "gad7_3: 4 is not one of the options 0, 1, 2, 3"),
        ("0,1,1.5,3,0,1,2", "1.5 is not one of the options"),
        ("-1,1,1,3,0,1,2", "gad7_1: -1 is not one of the options"),
    ],
)
def test_bad_answer_lists(registry, text: str, problem: str) -> None:
    with pytest.raises(AnswerError, match=problem):
        registry["gad7"].parse_answer_list(text)


def test_answer_list_may_include_or_leave_off_the_trailing_unscored_item(registry) -> None:
    gad7 = registry["gad7"]

    with_difficulty = gad7.parse_answer_list("0,1,2,3,0,1,2,3")
    without = gad7.parse_answer_list("0,1,2,3,0,1,2")

    assert with_difficulty["gad7_difficulty"] == 3
    assert "gad7_difficulty" not in without
    assert gad7.score(with_difficulty).total == gad7.score(without).total == 9


@pytest.mark.parametrize("value", [True, "2", [2]])
def test_non_numeric_answer_values_are_refused(registry, value: object) -> None:
    with pytest.raises(AnswerError, match="is not a number"):
        registry["gad7"].score({"gad7_1": value})


def test_nan_is_treated_as_missing(registry) -> None:
    result = registry["gad7"].score({"gad7_1": math.nan})

    assert "gad7_1" in result.missing


def test_unknown_item_message_lists_expected_ids(registry) -> None:
    with pytest.raises(AnswerError, match=r"unknown item id.*'phq9_1'.*expected some of gad7_1"):
        registry["gad7"].score({"phq9_1": 0})
