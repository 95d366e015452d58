"""What researchers see: the insight tables released under a differencing control.

Supervisors and clinic admins get every refresh at once (exact or protected, as
``rapport.security.access.insight_disclosure`` decides). Researchers get a *release*,
built from the protected figures (:mod:`rapport.insights.disclosure`): each table of the
new computation replaces the released one only if every row that changed has a group that
moved by at least the suppression threshold (:func:`rapport.psychometrics.may_replace`);
otherwise the released table stays as it was. Whole tables, not rows, are kept or
replaced, so a table's cells, margins and complementary suppressions always come from one
computation; a page's plain-language readings are replaced only when all of its tables
are. See docs/insights.md, "Releases to researchers".
"""

from __future__ import annotations

import json
from typing import Any

from rapport.psychometrics.suppression import may_replace

# Top-level counts of the snapshot that the insight index shows.
HEADLINE_COUNTS = ("clients", "episodes")


def release(previous: dict[str, Any] | None, computed: dict[str, Any], threshold: int) -> dict:
    """The researchers' figures after a refresh: ``computed`` where it may replace
    ``previous`` (the last release; None for the first, which is released whole)."""
    if previous is None:
        return computed
    released: dict[str, Any] = {**computed, "pages": {}}
    for name, page in computed["pages"].items():
        old_page = previous.get("pages", {}).get(name)
        released["pages"][name] = page if old_page is None else _page(old_page, page, threshold)
    for key in HEADLINE_COUNTS:
        if key in previous and not may_replace(previous[key], computed.get(key), threshold):
            released[key] = previous[key]
    return released


def _page(old: dict[str, Any], new: dict[str, Any], threshold: int) -> dict[str, Any]:
    old_tables = {stored["name"]: stored for stored in old["tables"]}
    tables, kept_any = [], False
    for stored in new["tables"]:
        previous = old_tables.get(stored["name"])
        if previous is None or table_may_replace(previous, stored, threshold):
            tables.append(stored)
        else:
            tables.append(previous)
            kept_any = True
    readings = old["readings"] if kept_any else new["readings"]
    return {**new, "tables": tables, "readings": readings}


def table_may_replace(old: dict[str, Any], new: dict[str, Any], threshold: int) -> bool:
    """Whether every row of ``new`` that differs from its row in ``old`` has a group that
    moved by at least ``threshold`` (rows are matched by their label columns)."""
    labels = [c["key"] for c in new["columns"] if c["kind"] == "text"]
    old_rows = {_label(row, labels): row for row in old["rows"]}
    for row in new["rows"]:
        before = old_rows.get(_label(row, labels))
        if before is None or before == row:
            continue
        if not may_replace(_group_size(before, new), _group_size(row, new), threshold):
            return False
    return True


def _label(row: dict[str, Any], labels: list[str]) -> tuple:
    """The row's label cells as a key: message ids, or stored messages (dicts, keyed by
    their JSON), never a translation (rapport.insights.wording), so rows match whatever
    language their readers use."""
    return tuple(_hashable(row.get(key)) for key in labels)


def _hashable(value: Any) -> Any:
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else value


def _group_size(row: dict[str, Any], stored: dict[str, Any]) -> int | None:
    """The row's n: its ``n`` column, else its first count column, else None."""
    if "n" in row:
        return row["n"]
    counts = [c["key"] for c in stored["columns"] if c["kind"] == "int"]
    return row.get(counts[0]) if counts else None
