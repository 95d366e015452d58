"""The protected version of a clinic's insight figures: what researchers and downloads get.

The snapshot holds the exact figures, each row marked with what small-cell protection
must hide (:mod:`rapport.insights.tables`). :func:`protected` blanks those figures, blanks
the clinic's client and episode counts when they are 1 to 10, and rewrites each page's
readings from its blanked tables (:func:`rapport.insights.reports.page_readings`), so a
reading never states a figure its table hides. Which version a user sees on which
channel is decided by ``rapport.security.access.insight_disclosure``.
"""

from __future__ import annotations

from typing import Any

from rapport.insights.release import HEADLINE_COUNTS
from rapport.insights.reports import page_readings, small_count
from rapport.insights.tables import protected_table


def protected(figures: dict[str, Any]) -> dict[str, Any]:
    """``figures`` (exact, from :func:`rapport.insights.reports.compute`) as anyone may see
    them: no figure resting on 1 to 10 people, nor one that would let it be worked out."""
    out: dict[str, Any] = {**figures, "pages": {}}
    for name, page in figures["pages"].items():
        tables = [protected_table(stored) for stored in page["tables"]]
        notes = page.get("notes", [])
        out["pages"][name] = {
            **page,
            "tables": tables,
            "readings": page_readings(name, tables, notes),
        }
    for key in HEADLINE_COUNTS:
        if small_count(figures.get(key)):
            out[key] = None
    return out
