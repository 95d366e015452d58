"""The one chart layer: Vega-Lite specs (built with Altair) rendered on the server by vl-convert.

A :class:`Chart` is a spec plus what a reader without the picture needs: a title, a text
description generated from the same data and the data as a table. Pages show the SVG as
an ``<img>`` from a ``data:`` URL (the CSP allows ``img-src data:``; no script, no inline
style) through one partial, ``workspace/_chart.html``; the PDF report uses a PNG of the
same spec. The client page's score timelines (:mod:`rapport.workspace.charts`) and the
insight pages' charts (:mod:`rapport.insights.charts`) are built on the kinds here:

* :func:`interval_chart`: one row per estimate, a dot with its 95% interval, an optional
  marker per row (a published value) and an optional reference line (zero difference);
  a forest plot is this chart with a reference line.
* :func:`bar_interval_chart`: rates as bars, grouped by series, with their intervals.
* :func:`trend_chart`: rates per period as lines with an interval band, one per series.

The specs hold only the values passed in, so callers decide what may be drawn (the
insight pages pass only rows that are shown, never suppressed ones).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

WIDTH, HEIGHT = 560, 220
ROW_HEIGHT = 22
LABEL_LIMIT = 340
LINE_COLOUR = "#0b5cad"
MARKER_COLOUR = "#a4161a"
REFERENCE_COLOUR = "#555555"
# Distinguishable for the common colour-vision deficiencies (Okabe & Ito 2008).
SERIES_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9")


@dataclass(frozen=True)
class Chart:
    title: str
    description: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    spec: dict[str, Any] = field(repr=False)

    @property
    def svg(self) -> str:
        return render_svg(json.dumps(self.spec, sort_keys=True))

    @property
    def data_uri(self) -> str:
        encoded = base64.b64encode(self.svg.encode("utf-8")).decode("ascii")
        return f"data:image/svg+xml;base64,{encoded}"

    def png(self, scale: float = 2.0) -> bytes:
        return render_png(json.dumps(self.spec, sort_keys=True), scale)


@lru_cache(maxsize=256)
def render_svg(spec_json: str) -> str:
    import vl_convert

    return vl_convert.vegalite_to_svg(json.loads(spec_json))


@lru_cache(maxsize=64)
def render_png(spec_json: str, scale: float) -> bytes:
    import vl_convert

    return vl_convert.vegalite_to_png(json.loads(spec_json), scale=scale)


def finish(
    chart: alt.TopLevelMixin,
    *,
    title: str,
    subtitle: str,
    description: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
) -> Chart:
    """The :class:`Chart` of an Altair chart: titled, described, with its data table."""
    spec = chart.properties(
        title=alt.Title(title, subtitle=subtitle or [], anchor="start")
    ).to_dict(validate=False)
    spec["description"] = description
    return Chart(
        title=title,
        description=description,
        columns=tuple(columns),
        rows=[tuple(row) for row in rows],
        spec=spec,
    )


@dataclass(frozen=True)
class Estimate:
    """One row of an interval chart: a label, an estimate and its interval."""

    label: str
    value: float
    low: float
    high: float
    marker: float | None = None


def interval_chart(
    estimates: Sequence[Estimate],
    *,
    axis_title: str,
    domain: tuple[float, float] | None = None,
    reference: float | None = None,
    percent: bool = False,
) -> alt.LayerChart:
    """Dots with horizontal 95% intervals, one row per estimate, in the order given.

    ``marker`` values (a published figure) are drawn as red diamonds on their row;
    ``reference`` as a dashed vertical line (e.g. no difference). Pass the result to
    :func:`finish`.
    """
    frame = pd.DataFrame(
        {
            "label": [e.label for e in estimates],
            "value": [e.value for e in estimates],
            "low": [e.low for e in estimates],
            "high": [e.high for e in estimates],
        }
    )
    order = list(frame["label"])
    axis = alt.Axis(format=".0%") if percent else alt.Axis()
    scale = alt.Scale(domain=list(domain), zero=False) if domain else alt.Scale(zero=False)
    x = alt.X("value:Q", title=axis_title, scale=scale, axis=axis)
    y = alt.Y("label:N", title=None, sort=order, axis=alt.Axis(labelLimit=LABEL_LIMIT))
    layers: list[alt.Chart] = []
    if reference is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"reference": [reference]}))
            .mark_rule(color=REFERENCE_COLOUR, strokeDash=[6, 4])
            .encode(x=alt.X("reference:Q", scale=scale))
        )
    layers.append(
        alt.Chart(frame)
        .mark_rule(color=LINE_COLOUR, strokeWidth=2)
        .encode(x=alt.X("low:Q", scale=scale, axis=axis, title=axis_title), x2="high:Q", y=y)
    )
    layers.append(
        alt.Chart(frame).mark_point(filled=True, size=70, color=LINE_COLOUR).encode(x=x, y=y)
    )
    markers = [(e.label, e.marker) for e in estimates if e.marker is not None]
    if markers:
        marked = pd.DataFrame(markers, columns=["label", "value"])
        layers.append(
            alt.Chart(marked)
            .mark_point(shape="diamond", filled=True, size=90, color=MARKER_COLOUR)
            .encode(x=x, y=y)
        )
    height = max(ROW_HEIGHT * len(estimates), ROW_HEIGHT * 2)
    return alt.LayerChart(layer=layers).properties(width=WIDTH - LABEL_LIMIT // 2, height=height)


def bar_interval_chart(
    rows: pd.DataFrame, *, category_title: str, series_title: str, axis_title: str
) -> alt.LayerChart:
    """Horizontal bars of rates (0-1) per category, grouped by series, with 95% intervals.

    ``rows`` has ``category, series, rate, low, high``; categories and series keep the
    order of their first appearance.
    """
    categories = list(dict.fromkeys(rows["category"]))
    series = list(dict.fromkeys(rows["series"]))
    scale = alt.Scale(domain=[0, 1])
    colour = alt.Color(
        "series:N",
        title=series_title,
        sort=series,
        scale=alt.Scale(domain=series, range=list(SERIES_COLOURS[: len(series)])),
        legend=alt.Legend(orient="bottom", direction="vertical", labelLimit=LABEL_LIMIT),
    )
    y = alt.Y("category:N", title=category_title, sort=categories, axis=alt.Axis(labelLimit=240))
    offset = alt.YOffset("series:N", sort=series)
    bars = (
        alt.Chart(rows)
        .mark_bar()
        .encode(
            x=alt.X("rate:Q", title=axis_title, scale=scale, axis=alt.Axis(format=".0%")),
            y=y,
            yOffset=offset,
            color=colour,
        )
    )
    intervals = (
        alt.Chart(rows)
        .mark_rule(color="#222222", strokeWidth=1.5)
        .encode(x=alt.X("low:Q", scale=scale), x2="high:Q", y=y, yOffset=offset)
    )
    height = ROW_HEIGHT * max(len(categories) * max(len(series), 1), 2)
    return alt.LayerChart(layer=[bars, intervals]).properties(width=WIDTH - 120, height=height)


def trend_chart(
    rows: pd.DataFrame, *, period_title: str, series_title: str, axis_title: str
) -> alt.LayerChart:
    """Rates (0-1) per period as one line per series with its 95% interval band.

    ``rows`` has ``period`` (sortable text such as ``2026-03``), ``series``, ``rate``,
    ``low``, ``high``; periods missing from a series are simply not drawn.
    """
    series = list(dict.fromkeys(rows["series"]))
    periods = sorted(set(rows["period"]))
    colour = alt.Color(
        "series:N",
        title=series_title,
        sort=series,
        scale=alt.Scale(domain=series, range=list(SERIES_COLOURS[: len(series)])),
        # Lines in the legend, not the pale band that shares the colour scale.
        legend=alt.Legend(
            orient="bottom", symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3
        ),
    )
    x = alt.X("period:O", title=period_title, sort=periods, axis=alt.Axis(labelAngle=-45))
    scale = alt.Scale(domain=[0, 1])
    band = (
        alt.Chart(rows)
        .mark_area(opacity=0.18)
        .encode(x=x, y=alt.Y("low:Q", scale=scale, stack=None), y2="high:Q", color=colour)
    )
    y = alt.Y("rate:Q", title=axis_title, scale=scale, axis=alt.Axis(format=".0%"))
    line = alt.Chart(rows).mark_line().encode(x=x, y=y, color=colour)
    points = alt.Chart(rows).mark_point(filled=True, size=40).encode(x=x, y=y, color=colour)
    return alt.LayerChart(layer=[band, line, points]).properties(width=WIDTH, height=HEIGHT)
