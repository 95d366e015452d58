"""Score timelines on the client page, built on the one chart layer (:mod:`rapport.core.charts`).

One spec per chart serves the page (SVG, shown as an ``<img>`` from a ``data:`` URL, which
the CSP allows via ``img-src data:`` without any inline script or style) and the PDF
report (PNG of the same spec), so both show the same picture. Every chart carries a
title, a one-paragraph text description and the data as a table for screen readers.
"""

from __future__ import annotations

import altair as alt
import pandas as pd

from rapport.core.charts import HEIGHT, WIDTH, Chart
from rapport.instruments import Instrument
from rapport.workspace.records import AdministrationRow
from rapport.workspace.titles import short_title

LINE_COLOUR = "#0b5cad"
CUTOFF_COLOUR = "#a4161a"
BAND_COLOUR = "#9ccc9c"
CHANGE_NOUNS = {"improved": "improvement", "deteriorated": "deterioration"}


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
    return f"{fmt(row.total)} (estimated)" if row.estimated else fmt(row.total)


def fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:g}" if float(value).is_integer() else f"{value:.1f}"


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
                reliable_change(instrument, intake, row.total) or "within error" for row in scores
            ],
        }
    )
    y = alt.Y("score:Q", title=name, scale=alt.Scale(domain=[low, high]))
    x = alt.X("session:Q", title="Session", axis=alt.Axis(tickMinStep=1, format="d"))
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
    layers.append(
        alt.Chart(points)
        .mark_point(filled=True, size=70)
        .encode(
            x=x,
            y=y,
            shape=alt.Shape(
                "change:N",
                title="Change from session 1",
                scale=alt.Scale(
                    domain=["within error", "improved", "deteriorated"],
                    range=["circle", "triangle-up", "triangle-down"],
                ),
            ),
            color=alt.Color(
                "change:N",
                title="Change from session 1",
                scale=alt.Scale(
                    domain=["within error", "improved", "deteriorated"],
                    range=[LINE_COLOUR, "#1b7f3b", CUTOFF_COLOUR],
                ),
            ),
        )
    )
    title = f"{name} by session"
    chart = alt.layer(*layers).properties(
        width=WIDTH, height=HEIGHT, title=alt.Title(title, anchor="start")
    )
    spec = chart.to_dict()
    spec["description"] = describe(instrument, scores, band)
    return Chart(
        title=title,
        description=spec["description"],
        columns=("Session", "Score", "Expected range", "Change from session 1"),
        rows=_table_rows(instrument, scores, band),
        spec=spec,
    )


def describe(
    instrument: Instrument, scores: list[AdministrationRow], band: pd.DataFrame | None
) -> str:
    """The chart in words, for screen readers and the PDF."""
    name = short_title(instrument)
    low, high = instrument.score_range
    direction = "higher is better" if instrument.higher_is_better else "lower is better"
    parts = [f"{name} scores ({fmt(low)}\u2013{fmt(high)}, {direction})"]
    if not scores:
        return parts[0] + ": no completed scores yet."
    first, last = scores[0], scores[-1]
    if len(scores) == 1:
        parts.append(f"one score so far: {fmt(first.total)} at session {first.session}")
    else:
        parts.append(
            f"went from {fmt(first.total)} at session {first.session} to {fmt(last.total)} "
            f"at session {last.session} over {len(scores)} check-ins"
        )
    if instrument.clinical_cutoff is not None:
        side = "at or below" if instrument.higher_is_better else "at or above"
        parts.append(f"the dashed line marks the cutoff {fmt(instrument.clinical_cutoff)}")
        parts.append(
            f"the latest score is {'' if instrument.is_clinical(last.total) else 'not '}{side} it"
        )
    change = reliable_change(instrument, first.total, last.total)
    if change:
        parts.append(
            f"the change since session 1 is a reliable {CHANGE_NOUNS[change]} "
            f"(threshold {fmt(instrument.reliable_change)} points)"
        )
    elif instrument.reliable_change:
        parts.append(
            f"the change since session 1 is within measurement error "
            f"(threshold {fmt(instrument.reliable_change)} points)"
        )
    if band is not None and not band.empty:
        latest = band[band["session"] == last.session]
        if not latest.empty:
            parts.append(
                f"the shaded band is the range expected at each session for this intake "
                f"score ({fmt(latest['lower'].iloc[0])}\u2013{fmt(latest['upper'].iloc[0])} at "
                f"session {last.session})"
            )
    return parts[0] + " " + "; ".join(parts[1:]) + "."


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
            reliable_change(instrument, intake, row.total) or "within error",
        )
        for row in scores
    ]
