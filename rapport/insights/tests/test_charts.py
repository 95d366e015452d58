"""Charts on the insight pages: drawn from the stored tables, never from a suppressed row."""

from __future__ import annotations

import base64
import json
import re

import pandas as pd
import pytest
from django.urls import reverse
from django.utils import translation

from rapport.core import charts as chart_layer
from rapport.insights import charts as insight_charts
from rapport.insights import reports, snapshots
from rapport.insights.charts import forest_chart, monthly_chart, page_charts, reliability_chart
from rapport.insights.disclosure import protected
from rapport.insights.reports import shown_months
from rapport.insights.tables import rests_on_small_numbers
from rapport.insights.views import PAGES
from rapport.insights.wording import translated_page
from rapport.testing import login_verified

CHART_IMAGE = re.compile(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]*)"')


def chart_values(chart) -> list[dict]:
    """Every record the chart's spec carries (Altair puts them in ``datasets``)."""
    return [record for records in chart.spec.get("datasets", {}).values() for record in records]


def equity_table(rows: list[dict]) -> dict:
    base = {"characteristic": "Gender", "membership": "exclusive", "reference": "Woman"}
    return {
        "name": "equity_0",
        "title": "Trust, mean over sessions",
        "columns": [],
        "rows": [{**base, **row} for row in rows],
    }


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["supervisor", "researcher"])
def test_every_insight_page_shows_a_chart_with_a_text_alternative(client, synth_clinic, role):
    login_verified(client, getattr(synth_clinic, role))
    for page in PAGES:
        html = client.get(reverse(f"insights-{page.replace('_', '-')}")).text
        images = CHART_IMAGE.findall(html)
        assert images, page
        for encoded, alt in images:
            assert base64.b64decode(encoded).startswith(b"<svg"), page
            assert len(alt.strip()) > 20, page
        # The long tables wait behind a disclosure whose summary names them.
        assert '<details class="insight-collapsed">' in html, page


@pytest.mark.django_db
def test_no_suppressed_row_of_a_real_snapshot_reaches_a_chart(synth_clinic):
    snapshot = snapshots.current(synth_clinic.organisation)
    suppressed_seen = 0
    for page, stored_page in protected(snapshot.data)["pages"].items():
        # As the page view does: charts are drawn from the page in the reader's words.
        content = translated_page(stored_page)
        drawn = page_charts(page, content)
        for stored in content["tables"]:
            # An equity table has its own forest plot (same title); the other tables'
            # rows have labels of their own on the page.
            mine = [c for c in drawn if c.title == stored["title"]] or drawn
            records = [record for chart in mine for record in chart_values(chart)]
            labels = {record.get("label") for record in records}
            keys = {(r.get("series"), r.get("category"), r.get("period")) for r in records}
            table_rows = {cell for chart in mine for row in chart.rows for cell in row}
            for row in stored["rows"]:
                if not row.get("suppressed"):
                    continue
                suppressed_seen += 1
                if stored["name"].startswith("equity_"):
                    label = f"{row['characteristic']}: {row['group']}"
                    assert label not in labels and label not in table_rows
                if stored["name"] == "reliable_change":
                    assert (row["group"], row["category"], None) not in keys
                if stored["name"] == "monthly_outcomes":
                    assert (row["measure"], None, row["month"]) not in keys
                if stored["name"] in ("early_trust_dropout", "endings"):
                    assert row.get("group", row.get("category")) not in labels | table_rows
    assert suppressed_seen > 0  # the synthetic clinic has small groups to hide


def test_a_forest_plot_leaves_out_suppressed_groups_and_names_them():
    stored = equity_table(
        [
            {"group": "Man", "n": 40, "difference": -0.2, "diff_ci_low": -0.5, "diff_ci_high": 0.1},
            {"group": "Non-binary", "n": None, "difference": None, "suppressed": True},
            {"group": "Woman", "n": 60, "difference": None},
        ]
    )
    chart = forest_chart(stored)

    assert chart is not None
    drawn = json.dumps(chart_values(chart))
    assert "Gender: Man" in drawn
    assert "Non-binary" not in drawn and "Non-binary" not in str(chart.rows)
    assert "suppressed" in chart.description and "Gender: Non-binary" in chart.description
    assert "Every interval includes zero" in chart.description


def test_a_forest_plot_with_every_group_suppressed_is_not_drawn():
    stored = equity_table([{"group": "Man", "n": None, "suppressed": True}])

    assert forest_chart(stored) is None


def test_chart_text_is_translated_into_spanish():
    stored = equity_table(
        [{"group": "Man", "n": 40, "difference": 0.3, "diff_ci_low": 0.1, "diff_ci_high": 0.5}]
    )
    with translation.override("es"):
        chart = forest_chart(stored)

    assert chart is not None
    assert "Diferencia con el grupo de referencia" in json.dumps(chart.spec)
    assert "Intervalos que excluyen el cero" in chart.description


def test_chart_text_speaks_of_one_instrument_and_one_month_in_both_languages():
    # A filtered view can hold one instrument with an alpha, or episodes closed in one
    # month: "for 1 instruments, from .88 to .88" and "for 1 months" were the slips.
    alphas = {
        "rows": [
            {"instrument": "PHQ-9", "alpha": 0.88, "ci_low": 0.85, "ci_high": 0.9},
        ]
    }
    rates = {
        "rows": [
            {
                "month": "2026-06",
                "measure": "Improved",
                "rate": 0.4,
                "ci_low": 0.3,
                "ci_high": 0.5,
                "n": 40,
            }
        ]
    }
    assert (
        reliability_chart(alphas).description
        == "Cronbach's alpha with its 95% interval for one instrument, PHQ-9: 0.88; a red "
        "diamond marks the published alpha where there is one."
    )
    assert monthly_chart(rates).description.startswith(
        "Rates with 95% bands for one month, 2026-06: improved 40"
    )
    with translation.override("es"):
        assert "para un instrumento, PHQ-9: 0.88;" in reliability_chart(alphas).description
        assert "Tasas con bandas del 95% para un mes, 2026-06:" in monthly_chart(rates).description
    alphas["rows"].append({"instrument": "GAD-7", "alpha": 0.8, "ci_low": 0.7, "ci_high": 0.85})
    assert "for 2 instruments, from 0.80 (GAD-7) to 0.88 (PHQ-9)" in (
        reliability_chart(alphas).description
    )


@pytest.mark.django_db
def test_rendering_is_deterministic(synth_clinic):
    content = snapshots.current(synth_clinic.organisation).data["pages"]["equity"]
    first = [chart.svg for chart in page_charts("equity", content)]
    chart_layer.render_svg.cache_clear()
    insight_charts._page_charts.cache_clear()
    again = [chart.svg for chart in page_charts("equity", content)]

    assert first and first == again


def test_a_month_with_a_small_count_is_hidden_and_so_is_a_complement():
    counts = pd.DataFrame(
        {"dropped": [3, 20, 30, 40], "stayed": [50, 60, 70, 80]},
        index=["2026-01", "2026-02", "2026-03", "2026-04"],
    )

    shown = shown_months(counts)

    # January alone (3 dropouts) could be worked out from the published total, so the
    # smallest other month is hidden with it.
    assert shown == ["2026-03", "2026-04"]


def test_months_with_no_small_counts_are_all_shown():
    counts = pd.DataFrame({"dropped": [0, 20], "stayed": [50, 60]}, index=["2026-01", "2026-02"])

    assert shown_months(counts) == ["2026-01", "2026-02"]


@pytest.mark.django_db
def test_the_monthly_outcomes_table_never_shows_a_count_of_1_to_10(synth_clinic):
    exact = snapshots.current(synth_clinic.organisation).data
    content = protected(exact)["pages"]["outcomes"]
    monthly = next(t for t in content["tables"] if t["name"] == "monthly_outcomes")
    measures = {row["measure"] for row in monthly["rows"]}
    # Readers who may open every record get the hidden months exactly, marked.
    exact_monthly = next(
        t for t in exact["pages"]["outcomes"]["tables"] if t["name"] == "monthly_outcomes"
    )
    marked = [row for row in exact_monthly["rows"] if rests_on_small_numbers(row)]
    assert marked and all(row["n"] is not None for row in marked)

    assert measures == set(reports.MONTHLY_MEASURES.values())
    for row in monthly["rows"]:
        if row.get("suppressed"):
            assert row["count"] is None and row["n"] is None and row["rate"] is None
        else:
            assert row["count"] == 0 or row["count"] >= reports.MIN_CELL
            assert row["n"] - row["count"] == 0 or row["n"] - row["count"] >= reports.MIN_CELL


@pytest.mark.django_db
def test_the_difference_between_a_months_two_totals_is_never_1_to_10(synth_clinic):
    """Improvement counts episodes with two scores, dropout every closed episode: the
    difference of a month's two n (episodes closed without two scores) must be protected."""
    content = protected(snapshots.current(synth_clinic.organisation).data)["pages"]["outcomes"]
    monthly = next(t for t in content["tables"] if t["name"] == "monthly_outcomes")
    totals: dict[str, dict[str, int]] = {}
    for row in monthly["rows"]:
        if not row.get("suppressed"):
            totals.setdefault(row["month"], {})[row["measure"]] = row["n"]
    dropout, improved = reports.MONTHLY_MEASURES["dropout"], reports.MONTHLY_MEASURES["improved"]
    for month, n in totals.items():
        if dropout in n and improved in n:
            unscored = n[dropout] - n[improved]
            assert unscored == 0 or unscored >= reports.MIN_CELL, month


def test_months_are_judged_on_both_tables_together():
    improvement = pd.DataFrame(
        {"recovered": [20, 20], "improved_only": [20, 20], "not_improved": [20, 20]},
        index=["2026-01", "2026-02"],
    )
    # Every count of 0 or 11+, but January closed 5 episodes without two scores.
    totals = pd.DataFrame({"dropped": [25, 20], "stayed": [40, 40]}, index=improvement.index)
    joint = improvement.join(totals)
    joint["unscored"] = joint[["dropped", "stayed"]].sum(axis=1) - improvement.sum(axis=1)

    assert shown_months(joint) == []  # January (5) hidden, then February as its complement
