"""The DIF tables of the equity page: the score-scale effect, its interval and the flag."""

from __future__ import annotations

import numpy as np
import pandas as pd

from rapport.insights import reports
from rapport.insights.wording import translate
from rapport.instruments import load_registry
from rapport.psychometrics.dif_simulation import ITEMS, simulate_scale

TRUST = load_registry()["rapport_trust"]


def _trust_items(shifted_item: str) -> pd.DataFrame:
    """600 English- and 600 Spanish-speaking clients; one item answered 0.6 SD lower in
    Spanish at equal trust. Answers are stored as given (the reversed item un-keyed)."""
    sim = simulate_scale(np.random.default_rng(3), 600, shifts={shifted_item: 0.6})
    frame = sim[list(ITEMS)].set_axis(list(TRUST.item_ids), axis=1)
    for item in TRUST.items:
        if item.reverse:
            frame[item.id] = item.min_value + item.max_value - frame[item.id]
    frame["language"] = np.where(sim["group"] == "A", "en", "es")
    frame["gender"] = ""
    frame["age_band"] = ""
    frame["race_ethnicity"] = [[] for _ in range(len(frame))]
    return frame


def test_a_shifted_trust_item_is_flagged_in_item_points() -> None:
    shifted = TRUST.item_ids[2]
    tables, messages = reports._dif_tables(_trust_items(ITEMS[2]), TRUST)
    readings = [translate(reading) for reading in messages]  # in English, the default
    (language,) = tables  # the other characteristics have no groups of 100
    assert language["name"] == "dif_language"
    labels = [column["label"] for column in language["columns"]]
    assert "Difference at equal trust (item points)" in labels
    assert "Difference 95% CI" in labels and "Flag" in labels
    rows = {row["item"]: row for row in language["rows"]}
    text = TRUST.item(shifted).text["en"]
    assert rows[text]["flag"] != "none"
    assert rows[text]["score_diff_group"] == "Spanish"
    assert rows[text]["reference"] == "English"
    assert rows[text]["score_diff_ci_high"] < -0.4
    assert [r["item"] for r in language["rows"] if r["flag"] != "none"] == [text]
    flagged = [r for r in readings if "may work differently" in r]
    assert len(flagged) == 1
    assert f"\u201c{text}\u201d" in flagged[0]
    assert "Spanish clients answer it" in flagged[0] and "points lower than English" in flagged[0]
    assert sum("not enough data" in r for r in readings) == 3


def test_the_reversed_item_is_keyed_before_the_analysis() -> None:
    """A shift planted on the keyed (reversed) item reads as lower agreement with the keyed
    wording, and is flagged like any other item."""
    reversed_index = next(i for i, item in enumerate(TRUST.items) if item.reverse)
    tables, _ = reports._dif_tables(_trust_items(ITEMS[reversed_index]), TRUST)
    rows = {row["item"]: row for row in tables[0]["rows"]}
    row = rows[TRUST.items[reversed_index].text["en"]]
    assert row["flag"] != "none" and row["score_diff"] < -0.4
