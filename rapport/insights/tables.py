"""The one shape every insight table has: titled columns plus JSON-safe rows.

Reports build tables with :func:`table`; the snapshot stores them as plain dicts; the
page renders any of them with one partial (``insights/_table.html``) through
:func:`display_rows`, and the CSV download writes the same rows with :func:`csv_rows`.
A confidence-interval column (kind ``ci`` or ``ci_pct``) named ``ci`` reads the row's
``ci_low`` and ``ci_high`` (``diff_ci`` reads ``diff_ci_low`` and ``diff_ci_high``).

Tables are built with exact figures. A row whose figures small-cell protection must hide
carries a mark (:func:`protect`): which keys to blank and why (``primary``: the figure
rests on 1 to 10 people; ``complementary``: hidden so that a small one cannot be worked
out). :func:`protected_table` blanks them; who gets which version is decided by
``rapport.security.access.insight_disclosure``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext

KINDS = ("text", "int", "num", "num3", "pct", "p", "ci", "ci3", "ci_pct")
SUPPRESSED = "suppressed"
# The row key holding a protection mark: {"keys": [...], "why": PRIMARY | COMPLEMENTARY}.
PROTECT = "protect"
PRIMARY = "primary"
COMPLEMENTARY = "complementary"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.key!r}: unknown kind {self.kind!r}; known: {KINDS}")

    @property
    def is_interval(self) -> bool:
        return self.kind.startswith("ci")


def json_value(value: Any) -> Any:
    """``value`` as plain JSON: NaN, NA and None become None, NumPy scalars Python ones,
    mappings (stored messages) and lists element by element."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, Mapping):  # a stored message (rapport.insights.wording)
        return {str(key): json_value(v) for key, v in value.items()}
    return str(value)


def table(
    name: str,
    title: str,
    columns: Sequence[Column],
    rows: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    note: str = "",
    hidden: Sequence[str] = (),
) -> dict[str, Any]:
    """A JSON-ready table; ``rows`` keep only the keys the columns read plus ``hidden``.

    ``hidden`` keys (e.g. a therapist's account id, to put a name on the row for staff
    who may see names) are neither displayed nor downloaded.
    """
    keys = _row_keys(columns) + list(hidden)
    records = rows.to_dict(orient="records") if isinstance(rows, pd.DataFrame) else list(rows)
    return {
        "name": name,
        "title": title,
        "note": note,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in columns],
        "rows": [_stored_row(record, keys) for record in records],
    }


def _stored_row(record: Mapping[str, Any], keys: list[str]) -> dict[str, Any]:
    row = {key: json_value(record.get(key)) for key in [*keys, SUPPRESSED] if key in record}
    mark = record.get(PROTECT)
    hidden = [key for key in mark["keys"] if key in keys] if mark else []
    if hidden:
        row[PROTECT] = {"keys": hidden, "why": mark["why"]}
    return row


def protect(row: dict[str, Any], keys: Iterable[str], why: str) -> dict[str, Any]:
    """Mark ``keys`` of ``row`` as hidden by small-cell protection, for reason ``why``.

    Marks add up: a row protected for two reasons gets the keys of both, and is primary
    if either reason is (its figures then rest on 1 to 10 people).
    """
    if why not in (PRIMARY, COMPLEMENTARY):
        raise ValueError(f"why must be {PRIMARY!r} or {COMPLEMENTARY!r}, not {why!r}")
    keys = list(keys)
    if not keys:
        return row
    mark = row.get(PROTECT) or {"keys": [], "why": COMPLEMENTARY}
    merged = mark["keys"] + [k for k in keys if k not in mark["keys"]]
    row[PROTECT] = {"keys": merged, "why": PRIMARY if PRIMARY in (why, mark["why"]) else why}
    return row


def rests_on_small_numbers(row: Mapping[str, Any]) -> bool:
    """Whether some figure of ``row`` rests on 1 to 10 people (a primary protection)."""
    mark = row.get(PROTECT)
    return bool(mark) and mark["why"] == PRIMARY


def protected_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` as anyone may see it: the marked keys blanked, ``suppressed`` if any were."""
    mark = row.get(PROTECT)
    out = {key: value for key, value in row.items() if key != PROTECT}
    if mark:
        out.update(dict.fromkeys(mark["keys"]))
        out[SUPPRESSED] = True
    return out


def protected_table(stored: Mapping[str, Any]) -> dict[str, Any]:
    """The table with every protected figure blanked and no protection marks left."""
    return {**stored, "rows": [protected_row(row) for row in stored["rows"]]}


def _row_keys(columns: Sequence[Column]) -> list[str]:
    keys: list[str] = []
    for column in columns:
        if column.is_interval:
            keys += [f"{column.key}_low", f"{column.key}_high"]
        else:
            keys.append(column.key)
    return keys


def _columns(stored: Mapping[str, Any]) -> list[Column]:
    return [Column(**column) for column in stored["columns"]]


def format_value(value: Any, kind: str) -> str:
    """How one number reads on a page: ``.91`` style for coefficients, ``45%`` for rates."""
    if value is None:
        return "—"
    if kind == "text":
        return str(value)
    if kind == "int":
        return f"{int(value):,}"
    if kind == "num":
        return f"{value:.2f}"
    if kind == "num3":
        return f"{value:.3f}"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "p":
        return "< .001" if value < 0.001 else f"{value:.3f}".lstrip("0")
    raise ValueError(f"cannot format a single value of kind {kind!r}")


def format_interval(low: Any, high: Any, kind: str) -> str:
    if low is None or high is None:
        return "—"
    inner = {"ci": "num", "ci3": "num3", "ci_pct": "pct"}[kind]
    return gettext("%(low)s to %(high)s") % {
        "low": format_value(low, inner),
        "high": format_value(high, inner),
    }


def display_rows(stored: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Formatted cells per row, for the template: ``{"cells": [...], "suppressed": bool,
    "small": bool}`` (``small``: an exact figure resting on 1 to 10 people, to be marked)."""
    columns = _columns(stored)
    out = []
    for row in stored["rows"]:
        cells = []
        for column in columns:
            if column.is_interval:
                text = format_interval(
                    row.get(f"{column.key}_low"), row.get(f"{column.key}_high"), column.kind
                )
            else:
                text = format_value(row.get(column.key), column.kind)
            numeric = column.kind != "text"
            cells.append({"text": text, "numeric": numeric})
        out.append(
            {
                "cells": cells,
                "suppressed": bool(row.get(SUPPRESSED, False)),
                "small": rests_on_small_numbers(row),
            }
        )
    return out


def csv_value(value: Any, kind: str) -> Any:
    """``value`` rounded to the precision its page shows (rates as percentages).

    A download must not claim more precision than the page, nor let a reader recover
    figures the page rounded away; the research export, for analysis, keeps full precision.
    """
    if value is None or kind == "text":
        return value
    if kind == "int":
        return int(value)
    if kind in ("num", "ci"):
        return round(value, 2)
    if kind in ("num3", "ci3"):
        return round(value, 3)
    if kind in ("pct", "ci_pct"):
        return round(100 * value, 1)
    if kind == "p":
        return "<0.001" if value < 0.001 else round(value, 3)
    raise ValueError(f"no CSV form for a value of kind {kind!r}")


def csv_rows(stored: Mapping[str, Any]) -> list[list[Any]]:
    """Header plus rows as the page rounds them (intervals as two columns, rates in %).

    Suppressed values are left empty. Downloads are always protected: a row that still
    carries a protection mark (an exact table) is refused rather than written. Headers
    are the labels as stored (translate the table first, ``rapport.insights.wording``);
    the last column keeps its machine name, ``suppressed``.
    """
    columns = _columns(stored)
    header: list[Any] = []
    cells: list[tuple[str, str]] = []
    for column in columns:
        unit = " (%)" if column.kind in ("pct", "ci_pct") else ""
        if column.is_interval:
            header += [
                gettext("%(label)s low") % {"label": column.label} + unit,
                gettext("%(label)s high") % {"label": column.label} + unit,
            ]
            cells += [(f"{column.key}_low", column.kind), (f"{column.key}_high", column.kind)]
        else:
            header.append(f"{column.label}{unit}")
            cells.append((column.key, column.kind))
    header.append(SUPPRESSED)
    rows: list[list[Any]] = [header]
    for row in stored["rows"]:
        if row.get(PROTECT):
            raise ValueError("csv_rows needs a protected table (see protected_table)")
        values = [csv_value(row.get(key), kind) for key, kind in cells]
        rows.append([*values, bool(row.get("suppressed", False))])
    return rows
