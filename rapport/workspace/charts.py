"""Score timelines on the client page, built on the one chart layer (:mod:`rapport.core.charts`).

One spec per chart serves the page (SVG, shown as an ``<img>`` from a ``data:`` URL, which
the CSP allows via ``img-src data:`` without any inline script or style) and the PDF
report (PNG of the same spec), so both show the same picture. Every chart carries a
title, a one-paragraph text description and the data as a table for screen readers.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import altair as alt
import pandas as pd
from django.utils.translation import gettext as _

from rapport.alerts.wording import number_as_read
from rapport.core.charts import HEIGHT, WIDTH, Chart
from rapport.instruments import Instrument
from rapport.workspace.records import AdministrationRow
from rapport.workspace.titles import short_title

# A panel of the printed report: two across an A4 or Letter page, four in a third of it.
PANEL_WIDTH, PANEL_HEIGHT = 300, 90
# The client's own charts are drawn for a phone, so their text stays readable there.
CLIENT_WIDTH, CLIENT_HEIGHT = 320, 200
LINE_COLOUR = "#0b5cad"
CUTOFF_COLOUR = "#a4161a"
BAND_COLOUR = "#9ccc9c"


def change_word(change: str) -> str:
    """A reliable-change code (:func:`reliable_change`) as the chart's legend says it."""
    words = {"improved": _("improved"), "deteriorated": _("deteriorated")}
    return words.get(change) or _("within error")


def reliable_change(instrument: Instrument, intake: float | None, score: float | None) -> str:
    """``improved``, ``deteriorated`` or ``""`` against the instrument's published threshold."""
    if intake is None or score is None or not instrument.reliable_change:
        return ""
    change = score - intake
    if abs(change) < instrument.reliable_change:
        return ""
    return "improved" if (change > 0) == instrument.higher_is_better else "deteriorated"


def score_text(row: AdministrationRow) -> str:
    """A stored total as shown to staff, marked when it was estimated from missing items."""
    if row.estimated:
        return _("%(score)s (estimated)") % {"score": fmt(row.total)}
    return fmt(row.total)


def fmt(value: float | None) -> str:
    """A score as staff read it (:func:`~rapport.alerts.wording.number_as_read`), "—" for
    none."""
    return "—" if value is None else number_as_read(value)


def score_chart(
    instrument: Instrument,
    scores: list[AdministrationRow],
    band: pd.DataFrame | None = None,
) -> Chart:
    """The timeline of one instrument: scores, cutoff, expected band, reliable changes.

    ``band`` is :func:`rapport.psychometrics.expected_trajectory` for the client's intake
    (``session``, ``lower``, ``upper``), or None when the clinic has no fit.
    """
    name = short_title(instrument)
    intake = scores[0].total if scores else None
    low, high = instrument.score_range
    points = pd.DataFrame(
        {
            "session": [row.session for row in scores],
            "score": [row.total for row in scores],
            "change": [
                change_word(reliable_change(instrument, intake, row.total)) for row in scores
            ],
        }
    )
    y = alt.Y("score:Q", title=name, scale=alt.Scale(domain=[low, high]))
    x = alt.X("session:Q", title=_("Session"), axis=alt.Axis(tickMinStep=1, format="d"))
    layers: list[alt.Chart] = []
    if band is not None and not band.empty:
        layers.append(
            alt.Chart(band[["session", "lower", "upper"]])
            .mark_area(opacity=0.35, color=BAND_COLOUR)
            .encode(x=x, y=alt.Y("lower:Q", scale=alt.Scale(domain=[low, high])), y2="upper:Q")
        )
    if instrument.clinical_cutoff is not None:
        cutoff = pd.DataFrame({"cutoff": [instrument.clinical_cutoff]})
        layers.append(
            alt.Chart(cutoff)
            .mark_rule(color=CUTOFF_COLOUR, strokeDash=[6, 4])
            .encode(y=alt.Y("cutoff:Q", scale=alt.Scale(domain=[low, high])))
        )
    layers.append(alt.Chart(points).mark_line(color=LINE_COLOUR).encode(x=x, y=y))
    legend = [change_word(""), change_word("improved"), change_word("deteriorated")]
    layers.append(
        alt.Chart(points)
        .mark_point(filled=True, size=70)
        .encode(
            x=x,
            y=y,
            shape=alt.Shape(
                "change:N",
                title=_("Change from the first score"),
                scale=alt.Scale(
                    domain=legend,
                    range=["circle", "triangle-up", "triangle-down"],
                ),
            ),
            color=alt.Color(
                "change:N",
                title=_("Change from the first score"),
                scale=alt.Scale(
                    domain=legend,
                    range=[LINE_COLOUR, "#1b7f3b", CUTOFF_COLOUR],
                ),
            ),
        )
    )
    title = _("%(instrument)s by session") % {"instrument": name}
    chart = alt.layer(*layers).properties(
        width=WIDTH, height=HEIGHT, title=alt.Title(title, anchor="start")
    )
    spec = chart.to_dict()
    spec["description"] = describe(instrument, scores, band)
    return Chart(
        title=title,
        description=spec["description"],
        columns=(_("Session"), _("Score"), _("Expected range"), _("Change from the first score")),
        rows=_table_rows(instrument, scores, band),
        spec=spec,
    )


def describe(
    instrument: Instrument, scores: list[AdministrationRow], band: pd.DataFrame | None
) -> str:
    """The chart in words, for screen readers and the PDF."""
    name = short_title(instrument)
    low, high = instrument.score_range
    scale = {"name": name, "low": fmt(low), "high": fmt(high)}
    if instrument.higher_is_better:
        heading = _("%(name)s scores (%(low)s–%(high)s, higher is better)") % scale  # noqa: RUF001 - the en dash of a range
    else:
        heading = _("%(name)s scores (%(low)s–%(high)s, lower is better)") % scale  # noqa: RUF001 - the en dash of a range
    if not scores:
        return heading + _(": no completed scores yet.")
    first, last = scores[0], scores[-1]
    parts = []
    if len(scores) == 1:
        parts.append(
            _("one score so far: %(score)s at session %(session)s")
            % {"score": fmt(first.total), "session": first.session}
        )
    else:
        parts.append(
            _(
                "went from %(first)s at session %(first_session)s to %(last)s at session "
                "%(last_session)s over %(count)s check-ins"
            )
            % {
                "first": fmt(first.total),
                "first_session": first.session,
                "last": fmt(last.total),
                "last_session": last.session,
                "count": len(scores),
            }
        )
    if instrument.clinical_cutoff is not None:
        parts.append(
            _("the dashed line marks the cutoff %(cutoff)s")
            % {"cutoff": fmt(instrument.clinical_cutoff)}
        )
        clinical = instrument.is_clinical(last.total)
        if instrument.higher_is_better:
            side = (
                _("the latest score is at or below it")
                if clinical
                else _("the latest score is not at or below it")
            )
        else:
            side = (
                _("the latest score is at or above it")
                if clinical
                else _("the latest score is not at or above it")
            )
        parts.append(side)
    # One score has no change to judge; two or more are judged from the first score,
    # whichever session that was.
    change = reliable_change(instrument, first.total, last.total) if len(scores) > 1 else None
    threshold = {"threshold": fmt(instrument.reliable_change or 0)}
    if change is None:
        pass
    elif change == "improved":
        parts.append(
            _(
                "the change since the first score is a reliable improvement (threshold "
                "%(threshold)s points)"
            )
            % threshold
        )
    elif change == "deteriorated":
        parts.append(
            _(
                "the change since the first score is a reliable deterioration (threshold "
                "%(threshold)s points)"
            )
            % threshold
        )
    elif instrument.reliable_change:
        parts.append(
            _(
                "the change since the first score is within measurement error (threshold "
                "%(threshold)s points)"
            )
            % threshold
        )
    if band is not None and not band.empty:
        latest = band[band["session"] == last.session]
        if not latest.empty:
            parts.append(
                _(
                    "the shaded band is the range expected at each session for this intake "
                    "score (%(lower)s–%(upper)s at session %(session)s)"  # noqa: RUF001 - the en dash of a range
                )
                % {
                    "lower": fmt(latest["lower"].iloc[0]),
                    "upper": fmt(latest["upper"].iloc[0]),
                    "session": last.session,
                }
            )
    return heading + " " + "; ".join(parts) + "."


def _table_rows(
    instrument: Instrument, scores: list[AdministrationRow], band: pd.DataFrame | None
) -> list[tuple[str, ...]]:
    expected = {}
    if band is not None and not band.empty:
        expected = {
            int(row.session): f"{fmt(row.lower)}\u2013{fmt(row.upper)}" for row in band.itertuples()
        }
    intake = scores[0].total if scores else None
    return [
        (
            str(row.session),
            score_text(row),
            expected.get(row.session, "—"),
            change_word(reliable_change(instrument, intake, row.total)),
        )
        for row in scores
    ]


def small_multiples(panels: Sequence[tuple[str, Chart]], columns: int = 2) -> Chart:
    """The printed report's picture: each ``(title, chart)`` as a small panel, two across.

    Built from the client page's chart specs, so that the marks, the legend's words and
    any translation stay the same: each panel keeps its layers, loses the axis title that
    repeated its name (the panel's title says it once), gets smaller points and the
    shared session axis (1 to the last session of any panel); one legend serves all.
    """
    last = max(
        (
            row["session"]
            for _title, chart in panels
            for rows in chart.spec.get("datasets", {}).values()
            for row in rows
            if "session" in row
        ),
        default=1,
    )
    datasets: dict[str, Any] = {}
    concat = []
    for position, (title, chart) in enumerate(panels):
        spec = copy.deepcopy(chart.spec)
        datasets.update(spec.get("datasets", {}))
        bottom_row = position >= len(panels) - columns
        for layer in spec["layer"]:
            encoding = layer.get("encoding", {})
            if "x" in encoding:
                encoding["x"]["scale"] = {"domain": [1, max(last, 2)], "nice": False}
                if not bottom_row:
                    encoding["x"]["title"] = None
            if "y" in encoding:
                encoding["y"]["title"] = None
            if isinstance(layer.get("mark"), dict) and layer["mark"].get("type") == "point":
                layer["mark"]["size"] = 30
        concat.append(
            {
                "layer": spec["layer"],
                "width": PANEL_WIDTH,
                "height": PANEL_HEIGHT,
                "title": {"text": title, "anchor": "start", "fontSize": 13},
            }
        )
    first = panels[0][1].spec if panels else {}
    spec = {
        "$schema": first.get("$schema", ""),
        "config": {
            **first.get("config", {}),
            "legend": {"orient": "bottom", "direction": "horizontal"},
        },
        "datasets": datasets,
        "concat": concat,
        "columns": columns,
        "resolve": {"legend": {"color": "shared", "shape": "shared"}},
        "description": " ".join(chart.description for _title, chart in panels),
    }
    return Chart(title="", description=spec["description"], columns=(), rows=[], spec=spec)


def marks_shown(chart: Chart) -> set[str]:
    """The mark types a chart draws ("rule" for a cutoff, "area" for an expected band...)."""
    found = set()
    for panel in chart.spec.get("concat", [chart.spec]):
        for layer in panel.get("layer", []):
            mark = layer.get("mark")
            found.add(mark.get("type") if isinstance(mark, dict) else mark)
    return found


def client_score_chart(
    instrument: Instrument,
    points: list[tuple[int, float]],
    *,
    title: str,
    session_label: str,
    score_label: str,
    description: str,
    columns: tuple[str, ...],
    rows: list[tuple[str, ...]],
) -> Chart:
    """The plain timeline a client reads of their own scores: sessions and totals only.

    No expected band, cutoff or reliable-change marks (words on the page explain the
    range instead); every label comes in from the caller already in the client's language.
    """
    low, high = instrument.score_range
    frame = pd.DataFrame({"session": [p[0] for p in points], "score": [p[1] for p in points]})
    # A tick at each session that has a score, and none between (no "session 2.5").
    sessions = sorted({p[0] for p in points})
    x = alt.X("session:Q", title=session_label, axis=alt.Axis(values=sessions, format="d"))
    y = alt.Y("score:Q", title=score_label, scale=alt.Scale(domain=[low, high]))
    base = alt.Chart(frame).encode(x=x, y=y)
    chart = alt.layer(
        base.mark_line(color=LINE_COLOUR), base.mark_point(filled=True, size=90, color=LINE_COLOUR)
    ).properties(width=CLIENT_WIDTH, height=CLIENT_HEIGHT)
    chart = chart.configure_axis(labelFontSize=13, titleFontSize=13)
    spec = chart.to_dict()
    spec["description"] = description
    return Chart(title=title, description=description, columns=columns, rows=rows, spec=spec)
