"""Scoring paths not used by the shipped instruments: scaled means, band lookup helpers."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from rapport.instruments import load_definition


@pytest.fixture
def scaled(write_definition, minimal_definition) -> Any:
    """The tiny 0-2 scale scored CORE-style: mean of answered items times 10 (range 0-20)."""
    minimal_definition["scoring"] = {
        "method": "scaled",
        "scale_factor": 10,
        "decimals": 1,
        "missing": {"max_missing": 1},
    }
    minimal_definition["bands"] = [
        {"label": "low", "lower": 0, "upper": 9.9},
        {"label": "high", "lower": 10, "upper": 20},
    ]
    minimal_definition["clinical_cutoff"] = 10
    return load_definition(write_definition("scaled.yaml", minimal_definition))


def test_scaled_score_is_the_mean_times_the_factor(scaled) -> None:
    # tiny_2 is reverse-keyed on 0-2: answer 1 keys to 1. Mean (2 + 1 + 0) / 3 = 1 -> 10.
    result = scaled.score({"tiny_1": 2, "tiny_2": 1, "tiny_3": 0})

    assert scaled.score_range == (0, 20)
    assert result.total == 10
    assert result.band == "high"
    # Subscale tiny_1 + tiny_2: mean (2 + 1) / 2 = 1.5 -> 15.
    assert result.subscales == {"first_two": 15}


def test_scaled_score_with_a_missing_item(scaled) -> None:
    # tiny_2 answer 0 keys to 2; tiny_3 missing. Mean (1 + 2) / 2 = 1.5 -> 15.
    result = scaled.score({"tiny_1": 1, "tiny_2": 0})

    assert result.total == 15
    assert result.missing == ["tiny_3"]


def test_band_and_cutoff_helpers(scaled) -> None:
    assert scaled.band_for(None) is None
    assert scaled.band_for(9.9).label == "low"
    assert scaled.band_for(10).label == "high"
    assert scaled.is_clinical(None) is False
    # higher_is_better is false in the tiny definition: at or above 10 is clinical.
    assert scaled.is_clinical(10) and not scaled.is_clinical(9.9)


def test_unknown_item_lookup(scaled) -> None:
    with pytest.raises(KeyError):
        scaled.item("tiny_9")


def test_no_cutoff_means_never_clinical(write_definition, minimal_definition) -> None:
    del minimal_definition["clinical_cutoff"]
    del minimal_definition["bands"]
    instrument = load_definition(write_definition("plain.yaml", minimal_definition))

    assert instrument.is_clinical(6) is False
    assert instrument.score({"tiny_1": 2, "tiny_2": 0, "tiny_3": 2}).band is None


def test_scaled_scoring_of_one_answer_set_equals_the_vectorised_scoring(scaled) -> None:
    # Every answer pattern of the three 0-2 items, gaps included (the shipped instruments,
    # compared in test_score_frame, use no scaled scoring).
    patterns = list(itertools.product([0, 1, 2, None], repeat=len(scaled.items)))
    frame = pd.DataFrame(
        [[np.nan if value is None else value for value in pattern] for pattern in patterns],
        columns=list(scaled.item_ids),
    )

    scored = scaled.score_frame(frame)

    for row, pattern in enumerate(patterns):
        one = scaled.score(dict(zip(scaled.item_ids, pattern, strict=True)))
        vectorised = scored.iloc[row]
        assert (one.total is None and pd.isna(vectorised["total"])) or (
            one.total == vectorised["total"]
        ), pattern
        first_two = vectorised["subscale_first_two"]
        assert (one.subscales["first_two"] is None and pd.isna(first_two)) or (
            one.subscales["first_two"] == first_two
        ), pattern
        assert (one.band is None and pd.isna(vectorised["band"])) or (
            one.band == vectorised["band"]
        ), pattern
