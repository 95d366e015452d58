"""The table shape: JSON-safe values, formatting, and formula-safe CSV."""

from __future__ import annotations

import io
import math

from rapport.insights.tables import Column, csv_rows, display_rows, table
from rapport.security.csv_safety import safe_writer


def _example():
    return table(
        "t",
        "Title",
        [Column("group", "Group"), Column("n", "n", "int"), Column("ci", "95% CI", "ci")],
        [
            {"group": "=HYPERLINK(1)", "n": 12, "ci_low": 0.5, "ci_high": math.nan},
            {"group": "b", "n": None, "ci_low": None, "ci_high": None, "suppressed": True},
        ],
    )


def test_values_are_json_safe():
    stored = _example()
    assert stored["rows"][0]["ci_high"] is None
    assert stored["rows"][1]["suppressed"] is True


def test_display_formats_numbers_and_intervals():
    rows = display_rows(_example())
    assert [c["text"] for c in rows[0]["cells"]] == ["=HYPERLINK(1)", "12", "—"]
    assert rows[1]["suppressed"]


def test_csv_neutralises_formulas_and_splits_intervals():
    buffer = io.StringIO()
    safe_writer(buffer).writerows(csv_rows(_example()))
    lines = buffer.getvalue().splitlines()
    assert lines[0] == "Group,n,95% CI low,95% CI high,suppressed"
    assert lines[1].startswith("'=HYPERLINK(1),12,0.5,,False")
