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


def test_csv_rounds_to_the_precision_the_page_shows():
    stored = table(
        "t",
        "Title",
        [
            Column("alpha", "Alpha", "num"),
            Column("r", "r", "num3"),
            Column("rate", "Improved", "pct"),
            Column("p", "p", "p"),
            Column("ci", "95% CI", "ci_pct"),
        ],
        [
            {
                "alpha": 0.912345678,
                "r": 0.52871,
                "rate": 0.4567891,
                "p": 0.0004,
                "ci_low": 0.40123,
                "ci_high": 0.51987,
            },
            {"alpha": 0.8, "r": -0.1, "rate": 1.0, "p": 0.04567, "ci_low": 0.0, "ci_high": 1.0},
        ],
    )
    header, first, second = csv_rows(stored)
    assert header == [
        "Alpha",
        "r",
        "Improved (%)",
        "p",
        "95% CI low (%)",
        "95% CI high (%)",
        "suppressed",
    ]
    assert first == [0.91, 0.529, 45.7, "<0.001", 40.1, 52.0, False]
    assert second == [0.8, -0.1, 100.0, 0.046, 0.0, 100.0, False]
