"""The charts of the insight pages, built from the snapshot's stored tables.

Charts read only what the page's tables already publish (aggregates, already
suppressed): a suppressed row is never drawn and never enters a chart's data; the text
description names it as suppressed instead. Each chart is a :class:`rapport.core.charts.
Chart` (the client page's chart layer): SVG, a one- or two-sentence description from the
same rows, and its data as a table. :func:`page_charts` gives a page's charts, key
charts first.

Building a chart (Altair) and rendering it (vl-convert) takes a noticeable fraction of a
second per chart, and a snapshot never changes once stored, so a page's charts are kept
in the process by the page's content and the reader's language.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any, cast

import pandas as pd
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from rapport.core import charts
from rapport.core.charts import Chart, Estimate
from rapport.insights.reports import MONTHLY_MEASURES, PUBLISHED_TRUST
from rapport.insights.tables import format_interval, format_value

Table = Mapping[str, Any]
Row = Mapping[str, Any]


def _tables(content: Mapping[str, Any]) -> dict[str, Table]:
    return {stored["name"]: stored for stored in content["tables"]}


def _drawable(row: Row, *keys: str) -> bool:
    """Shown (not suppressed) and every value the chart needs is there."""
    return not row.get("suppressed") and all(row.get(key) is not None for key in keys)


def _suppressed_sentence(labels: Sequence[str]) -> str:
    if not labels:
        return ""
    return " " + _(
        "Not drawn because suppressed (groups of 1 to 10 people, or figures that would let "
        "one be worked out): %(groups)s."
    ) % {"groups": "; ".join(labels)}


def _join(parts: Iterable[str]) -> str:
    return "; ".join(parts)


# --- instrument health ----------------------------------------------------------------------


def reliability_chart(stored: Table) -> Chart | None:
    rows = [r for r in stored["rows"] if _drawable(r, "alpha", "ci_low", "ci_high")]
    if not rows:
        return None
    estimates = [
        Estimate(r["instrument"], r["alpha"], r["ci_low"], r["ci_high"], r.get("published_alpha"))
        for r in rows
    ]
    lowest = min(rows, key=lambda r: r["alpha"])
    highest = max(rows, key=lambda r: r["alpha"])
    below = [
        r["instrument"]
        for r in rows
        if r.get("published_alpha") is not None and r["ci_high"] < r["published_alpha"]
    ]
    description = ngettext(
        "Cronbach's alpha with its 95%% interval for one instrument, %(low_name)s: "
        "%(low)s; a red diamond marks the published alpha where there is one.",
        "Cronbach's alpha with its 95%% interval for %(count)d instruments, from "
        "%(low)s (%(low_name)s) to %(high)s (%(high_name)s); red diamonds mark the "
        "published alpha where there is one.",
        len(rows),
    ) % {
        "count": len(rows),
        "low": format_value(lowest["alpha"], "num"),
        "low_name": lowest["instrument"],
        "high": format_value(highest["alpha"], "num"),
        "high_name": highest["instrument"],
    }
    if below:
        description += " " + _("Clearly below the published value: %(names)s.") % {
            "names": _join(below)
        }
    description += _suppressed_sentence(
        [r["instrument"] for r in stored["rows"] if r.get("suppressed")]
    )
    return charts.finish(
        charts.interval_chart(estimates, axis_title=_("Cronbach's alpha"), domain=(0.5, 1.0)),
        title=_("Reliability in this clinic against the published value"),
        subtitle=_("Dot and line: alpha and 95% CI here. Red diamond: published alpha."),
        description=description,
        columns=(_("Instrument"), _("Alpha"), _("95% CI"), _("Published alpha")),
        rows=[
            (
                r["instrument"],
                format_value(r["alpha"], "num"),
                format_interval(r["ci_low"], r["ci_high"], "ci"),
                format_value(r.get("published_alpha"), "num"),
            )
            for r in rows
        ],
    )


def correlation_chart(
    stored: Table,
    *,
    title: str,
    label: Callable[[Row], str],
    published: Callable[[Row], float | None] = lambda row: None,
) -> Chart | None:
    """Correlations (r with CI) of a table, one row each, against zero and published values."""
    rows = [r for r in stored["rows"] if _drawable(r, "r", "ci_low", "ci_high")]
    if not rows:
        return None
    estimates = [Estimate(label(r), r["r"], r["ci_low"], r["ci_high"], published(r)) for r in rows]
    strongest = max(rows, key=lambda r: abs(r["r"]))
    description = _(
        "Each correlation with its 95%% interval (%(count)d in all); the strongest is "
        "r = %(r)s (%(pair)s, n = %(n)s)."
    ) % {
        "count": len(rows),
        "r": format_value(strongest["r"], "num"),
        "pair": label(strongest),
        "n": format_value(strongest["n"], "int"),
    }
    marked = [(r, published(r)) for r in rows if published(r) is not None]
    for row, value in marked:
        inside = row["ci_low"] <= value <= row["ci_high"]
        description += " " + (
            _("The published r = %(published)s lies inside the interval for %(pair)s.")
            if inside
            else _("The published r = %(published)s lies outside the interval for %(pair)s.")
        ) % {"published": format_value(value, "num"), "pair": label(row)}
    description += _suppressed_sentence([label(r) for r in stored["rows"] if r.get("suppressed")])
    subtitle = _("Dot and line: r and 95% CI. Dashed line: no correlation.")
    if marked:
        subtitle = _(
            "Dot and line: r and 95% CI. Red diamond: published r. Dashed line: no correlation."
        )
    return charts.finish(
        charts.interval_chart(
            estimates, axis_title=_("Correlation (r)"), domain=(-1.0, 1.0), reference=0.0
        ),
        title=title,
        subtitle=subtitle,
        description=description,
        columns=(_("Scores"), "n", "r", _("95% CI")),
        rows=[
            (
                label(r),
                format_value(r["n"], "int"),
                format_value(r["r"], "num"),
                format_interval(r["ci_low"], r["ci_high"], "ci"),
            )
            for r in rows
        ],
    )


# --- rates ------------------------------------------------------------------------------------


def rate_chart(stored: Table, *, title: str, label_key: str) -> Chart | None:
    """Rates with Wilson intervals, one row per group of a rate table."""
    rows = [r for r in stored["rows"] if _drawable(r, "rate", "ci_low", "ci_high")]
    if not rows:
        return None
    estimates = [Estimate(r[label_key], r["rate"], r["ci_low"], r["ci_high"]) for r in rows]
    description = (
        f"{stored['title']}: "
        + _join(
            _("%(group)s %(rate)s (95%% CI %(ci)s, n = %(n)s)")
            % {
                "group": r[label_key],
                "rate": format_value(r["rate"], "pct"),
                "ci": format_interval(r["ci_low"], r["ci_high"], "ci_pct"),
                "n": format_value(r["n"], "int"),
            }
            for r in rows
        )
        + "."
    )
    description += _suppressed_sentence(
        [r[label_key] for r in stored["rows"] if r.get("suppressed")]
    )
    return charts.finish(
        charts.interval_chart(estimates, axis_title=_("Rate"), domain=(0.0, 1.0), percent=True),
        title=title,
        subtitle=_("Dot and line: rate and Wilson 95% CI."),
        description=description,
        columns=(_("Group"), _("Rate"), _("95% CI"), "n"),
        rows=[(r[label_key], *_rate_cells(r)) for r in rows],
    )


def change_chart(stored: Table) -> Chart | None:
    """The change-category distribution per outcome instrument, as grouped bars with CIs."""
    rows = [r for r in stored["rows"] if _drawable(r, "rate", "ci_low", "ci_high")]
    if not rows:
        return None
    frame = pd.DataFrame(
        {
            "category": [r["category"] for r in rows],
            "series": [r["group"] for r in rows],
            "rate": [r["rate"] for r in rows],
            "low": [r["ci_low"] for r in rows],
            "high": [r["ci_high"] for r in rows],
        }
    )
    parts = []
    for instrument in dict.fromkeys(frame["series"]):
        mine = [r for r in rows if r["group"] == instrument]
        rates = ", ".join(f"{r['category'].lower()} {format_value(r['rate'], 'pct')}" for r in mine)
        parts.append(f"{instrument}: {rates}")
    description = (
        _("Share of closed episodes in each reliable-change category, with 95% intervals.")
        + " "
        + _join(parts)
        + "."
    )
    description += _suppressed_sentence(
        [f"{r['group']}: {r['category']}" for r in stored["rows"] if r.get("suppressed")]
    )
    return charts.finish(
        charts.bar_interval_chart(
            frame,
            category_title=_("Outcome"),
            series_title=_("Instrument"),
            axis_title=_("Share of closed episodes"),
        ),
        title=_("How closed episodes changed"),
        subtitle=_("Bars: share of episodes; black lines: Wilson 95% CI."),
        description=description,
        columns=(_("Instrument"), _("Outcome"), _("Rate"), _("95% CI"), "n"),
        rows=[(r["group"], r["category"], *_rate_cells(r)) for r in rows],
    )


def _rate_cells(row: Row) -> tuple[str, str, str]:
    """A rate row's data-table cells as the page shows them: rate, 95% CI, n."""
    return (
        format_value(row["rate"], "pct"),
        format_interval(row["ci_low"], row["ci_high"], "ci_pct"),
        format_value(row["n"], "int"),
    )


def monthly_chart(stored: Table) -> Chart | None:
    """Monthly improvement, recovery and dropout rates with their interval bands."""
    rows = [r for r in stored["rows"] if _drawable(r, "rate", "ci_low", "ci_high")]
    if not rows:
        return None
    # Each outcome keeps its colour whichever months are shown.
    order = {measure: i for i, measure in enumerate(MONTHLY_MEASURES.values())}
    rows.sort(key=lambda r: (order.get(r["measure"], len(order)), r["month"]))
    frame = pd.DataFrame(
        {
            "period": [r["month"] for r in rows],
            "series": [r["measure"] for r in rows],
            "rate": [r["rate"] for r in rows],
            "low": [r["ci_low"] for r in rows],
            "high": [r["ci_high"] for r in rows],
        }
    )
    latest = max(frame["period"])
    at_latest = [r for r in rows if r["month"] == latest]
    hidden: dict[str, list[str]] = {}
    for row in stored["rows"]:
        if row.get("suppressed"):
            hidden.setdefault(row["measure"], []).append(row["month"])
    hidden_months = [f"{measure} {', '.join(months)}" for measure, months in hidden.items()]
    months = frame["period"].nunique()
    description = ngettext(
        "Rates with 95%% bands for one month, %(last)s: %(rates)s.",
        "Monthly rates with 95%% bands for %(months)d months from %(first)s to %(last)s; "
        "in %(last)s: %(rates)s.",
        months,
    ) % {
        "months": months,
        "first": min(frame["period"]),
        "last": latest,
        "rates": ", ".join(
            f"{r['measure'].lower()} {format_value(r['rate'], 'pct')}" for r in at_latest
        ),
    }
    description += _suppressed_sentence(hidden_months)
    return charts.finish(
        charts.trend_chart(
            frame,
            period_title=_("Month closed"),
            series_title=_("Outcome"),
            axis_title=_("Share of episodes closed that month"),
        ),
        title=_("Improvement, recovery and dropout by month"),
        subtitle=_("Lines: monthly rates; shaded: Wilson 95% CI. Suppressed months are left out."),
        description=description,
        columns=(_("Month"), _("Outcome"), _("Rate"), _("95% CI"), "n"),
        rows=[(r["month"], r["measure"], *_rate_cells(r)) for r in rows],
    )


# --- equity -----------------------------------------------------------------------------------


def forest_chart(stored: Table) -> Chart | None:
    """Each group's difference from its reference group, with 95% CI (one equity table)."""

    def label(row: Row) -> str:
        return f"{row['characteristic']}: {row['group']}"

    comparisons = [r for r in stored["rows"] if r.get("group") != r.get("reference")]
    rows = [r for r in comparisons if _drawable(r, "difference", "diff_ci_low", "diff_ci_high")]
    if not rows:
        return None
    references = list(dict.fromkeys(r["reference"] for r in stored["rows"] if r.get("reference")))
    estimates = [
        Estimate(label(r), r["difference"], r["diff_ci_low"], r["diff_ci_high"]) for r in rows
    ]
    differing = [r for r in rows if r["diff_ci_low"] > 0 or r["diff_ci_high"] < 0]
    description = _(
        "%(what)s: each group's difference from its reference group with its 95%% "
        "interval (groups shown: %(count)d)."
    ) % {"what": stored["title"], "count": len(rows)}
    if differing:
        description += " " + _("Intervals that exclude zero: %(groups)s.") % {
            "groups": _join(
                f"{label(r)} ({format_value(r['difference'], 'num3')})" for r in differing
            )
        }
    else:
        description += " " + _("Every interval includes zero (no detectable difference).")
    description += _suppressed_sentence([label(r) for r in stored["rows"] if r.get("suppressed")])
    return charts.finish(
        charts.interval_chart(
            estimates, axis_title=_("Difference from the reference group"), reference=0.0
        ),
        title=stored["title"],
        subtitle=_("Reference groups (the largest in each characteristic): %(groups)s.")
        % {"groups": ", ".join(references)},
        description=description,
        columns=(_("Group"), _("Compared with"), _("Difference"), _("95% CI"), "n"),
        rows=[
            (
                label(r),
                r["reference"],
                format_value(r["difference"], "num3"),
                format_interval(r["diff_ci_low"], r["diff_ci_high"], "ci3"),
                format_value(r["n"], "int"),
            )
            for r in rows
        ],
    )


# --- pages ------------------------------------------------------------------------------------

TRUST_ALLIANCE_PAIR = ("Trust, first score", "Alliance, first score")
PUBLISHED_R_ALLIANCE = cast(float, PUBLISHED_TRUST["r_alliance"])


def page_charts(page: str, content: Mapping[str, Any]) -> list[Chart]:
    """The charts of one insight page, in reading order; tables missing from the
    snapshot (or with nothing shown) give no chart."""
    charts_made = _page_charts(page, json.dumps(content, sort_keys=True), get_language())
    return list(charts_made)


@lru_cache(maxsize=64)
def _page_charts(page: str, content_json: str, language: str | None) -> tuple[Chart, ...]:
    # ``language`` is part of the key only: gettext reads the active language itself.
    return tuple(_build_page_charts(page, json.loads(content_json)))


def _build_page_charts(page: str, content: Mapping[str, Any]) -> list[Chart]:
    tables = _tables(content)
    made: list[Chart | None] = []
    if page == "instruments":
        if "reliability" in tables:
            made.append(reliability_chart(tables["reliability"]))
        if "published_comparison" in tables:
            made.append(
                correlation_chart(
                    tables["published_comparison"],
                    title=_("Trust and alliance against the published correlation"),
                    label=lambda r: r["pair"],
                    published=lambda r: r.get("published_r"),
                )
            )
    elif page == "trust_alliance":
        if "correlations" in tables:
            made.append(
                correlation_chart(
                    tables["correlations"],
                    title=_("How trust, alliance, openness and outcome change relate"),
                    label=lambda r: f"{r['x']} / {r['y']}",
                    published=lambda r: (
                        PUBLISHED_R_ALLIANCE if (r["x"], r["y"]) == TRUST_ALLIANCE_PAIR else None
                    ),
                )
            )
        if "early_trust_dropout" in tables:
            made.append(
                rate_chart(
                    tables["early_trust_dropout"],
                    title=_("Dropout by early trust"),
                    label_key="group",
                )
            )
    elif page == "outcomes":
        if "reliable_change" in tables:
            made.append(change_chart(tables["reliable_change"]))
        if "monthly_outcomes" in tables:
            made.append(monthly_chart(tables["monthly_outcomes"]))
        if "endings" in tables:
            made.append(
                rate_chart(
                    tables["endings"], title=_("How closed episodes ended"), label_key="category"
                )
            )
    elif page == "equity":
        for stored in content["tables"]:
            if stored["name"].startswith("equity_"):
                made.append(forest_chart(stored))
    return [chart for chart in made if chart is not None]
