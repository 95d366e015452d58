"""Vectorised scoring equals scoring one administration at a time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rapport.instruments import AnswerError, Instrument, load_registry

INSTRUMENTS = list(load_registry().all_versions())


def random_frame(instrument: Instrument, rows: int, seed: int) -> pd.DataFrame:
    """Random offered values with about 12% missing, so every missing-rule branch is hit."""
    rng = np.random.default_rng(seed)
    columns = {}
    for item in instrument.items:
        values = rng.choice(np.asarray(item.option_values, dtype=float), size=rows)
        values[rng.random(rows) < 0.12] = np.nan
        columns[item.id] = values
    frame = pd.DataFrame(columns, index=pd.RangeIndex(100, 100 + rows, name="administration"))
    frame["client"] = rng.integers(0, 50, size=rows)  # unrelated columns are ignored
    return frame


def expected_row(instrument: Instrument, row: pd.Series) -> dict[str, object]:
    result = instrument.score(
        {
            item_id: None if np.isnan(row[item_id]) else row[item_id]
            for item_id in instrument.item_ids
        }
    )
    expected: dict[str, object] = {
        "total": result.total,
        "estimated": result.estimated,
        "band": result.band,
    }
    expected |= {f"subscale_{name}": value for name, value in result.subscales.items()}
    expected["n_answered"] = result.answered
    expected["n_missing"] = len(result.missing)
    for flag in instrument.flag_codes:
        expected[flag.replace(":", "_")] = flag in result.flags
    return expected


@pytest.mark.parametrize(
    "instrument", INSTRUMENTS, ids=lambda instrument: f"{instrument.id}-v{instrument.version}"
)
def test_score_frame_matches_score_row_by_row(instrument: Instrument) -> None:
    frame = random_frame(instrument, rows=400, seed=len(instrument.id))

    scored = instrument.score_frame(frame)

    assert scored.index.equals(frame.index)
    for index, row in frame.iterrows():
        for column, value in expected_row(instrument, row).items():
            actual = scored.at[index, column]
            if value is None:
                assert pd.isna(actual), (index, column)
            else:
                assert actual == value, (index, column, actual, value)


def test_score_frame_columns(registry) -> None:
    phq9 = registry["phq9"]
    # The unscored functioning column may be left out; a gap in item 1 is prorated.
    frame = pd.DataFrame(
        [[1] * 9, [None] * 9, [None] + [1] * 8], columns=list(phq9.scored_item_ids)
    )

    scored = phq9.score_frame(frame)

    assert list(scored.columns) == [
        "total", "estimated", "band", "n_answered", "n_missing",
        "critical_phq9_9", "unanswered_phq9_9",
    ]  # fmt: skip
    assert scored["total"].iloc[0] == 9 and np.isnan(scored["total"].iloc[1])
    assert scored["estimated"].tolist() == [False, False, True]
    assert scored["unanswered_phq9_9"].tolist() == [False, True, False]
    assert scored["n_missing"].tolist() == [0, 9, 1]
    assert scored["band"].iloc[0] == "mild" and pd.isna(scored["band"].iloc[1])
    assert list(scored["band"].cat.categories) == [band.label for band in phq9.bands]
    assert scored["critical_phq9_9"].tolist() == [True, False, True]


def test_score_frame_refuses_values_that_are_not_options(registry) -> None:
    gad7 = registry["gad7"]
    frame = pd.DataFrame([[0] * 7, [0, 0, 0, 0, 0, 0, 7]], columns=list(gad7.scored_item_ids))

    with pytest.raises(AnswerError, match="gad7_7: 1 value"):
        gad7.score_frame(frame)


def test_score_frame_refuses_missing_columns_and_text(registry) -> None:
    gad7 = registry["gad7"]
    with pytest.raises(AnswerError, match="missing item column"):
        gad7.score_frame(pd.DataFrame({"gad7_1": [0]}))

    text = pd.DataFrame([["often"] * 7], columns=list(gad7.scored_item_ids))
    with pytest.raises(AnswerError, match="must hold numbers"):
        gad7.score_frame(text)
