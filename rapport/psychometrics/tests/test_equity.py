"""Tests for rapport.psychometrics.equity.

Interval estimators are checked against independent implementations (SciPy's Welch test
and t interval, statsmodels' Wilson, Clopper-Pearson and Newcombe intervals) and against
the worked examples published by Newcombe (1998b, Table II, method 10); group membership
against hand counts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from rapport.psychometrics.equity import (
    age_band,
    diff_means_welch,
    diff_proportions_newcombe,
    equity,
    mean_ci,
    proportion_ci,
)

# --- estimators ------------------------------------------------------------------------


@pytest.mark.parametrize(("x", "n"), [(0, 10), (1, 12), (81, 263), (15, 15), (7, 40)])
@pytest.mark.parametrize("ci", [0.9, 0.95])
def test_wilson_and_exact_match_statsmodels(x: int, n: int, ci: float) -> None:
    p, lo, hi = proportion_ci(x, n, ci)
    ref = proportion_confint(x, n, alpha=1 - ci, method="wilson")
    assert p == x / n
    assert (lo, hi) == pytest.approx(ref, abs=1e-12)
    _, lo, hi = proportion_ci(x, n, ci, method="exact")
    ref = proportion_confint(x, n, alpha=1 - ci, method="beta")
    assert (lo, hi) == pytest.approx(ref, abs=1e-10)


# Newcombe (1998b), Stat Med 17:873-890, Table II, method 10 (hybrid score), 95%.
NEWCOMBE_TABLE_II = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_TABLE_II)
def test_newcombe_published_examples(counts: tuple, published: tuple) -> None:
    x1, n1, x2, n2 = counts
    d, lo, hi = diff_proportions_newcombe(x1, n1, x2, n2)
    assert d == pytest.approx(x1 / n1 - x2 / n2)
    assert (lo, hi) == pytest.approx(published, abs=5e-5)
    ref = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert (lo, hi) == pytest.approx(ref, abs=1e-12)


def test_welch_matches_scipy() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.normal(30, 5, 17), rng.normal(27, 9, 40)
    for ci in (0.9, 0.95):
        d, lo, hi = diff_means_welch(a, b, ci)
        ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(ci)
        assert d == pytest.approx(a.mean() - b.mean(), abs=1e-12)
        assert (lo, hi) == pytest.approx((ref.low, ref.high), abs=1e-10)


def test_mean_ci_matches_scipy() -> None:
    x = np.array([20.0, 24, 26, 30, 31, 18])
    m, lo, hi = mean_ci(x, 0.9)
    ref = stats.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    assert m == pytest.approx(x.mean())
    assert (lo, hi) == pytest.approx(ref, abs=1e-12)


def test_degenerate_inputs() -> None:
    assert np.isnan(mean_ci([5.0])[1]) and mean_ci([5.0])[0] == 5.0
    assert all(np.isnan(mean_ci([])))
    assert np.isnan(diff_means_welch([1.0], [1.0, 2.0])[1])
    assert all(np.isnan(diff_means_welch([], [1.0, 2.0])))
    assert diff_means_welch([2.0, 2.0], [1.0, 1.0]) == (1.0, 1.0, 1.0)
    assert all(np.isnan(proportion_ci(0, 0)))
    assert all(np.isnan(diff_proportions_newcombe(1, 0, 1, 2)))
    with pytest.raises(ValueError, match="method"):
        proportion_ci(1, 2, method="wald")


def test_age_band() -> None:
    ages = pd.Series([17, 18, 24.9, 25, 64, 65, 90, None, np.nan], index=list("abcdefghi"))
    out = age_band(ages)
    assert out.tolist() == [
        "<18",
        "18-24",
        "18-24",
        "25-34",
        "55-64",
        "65+",
        "65+",
        "Missing",
        "Missing",
    ]
    assert list(out.index) == list("abcdefghi")
    assert age_band([30, 40], edges=(35,)).tolist() == ["<35", "35+"]
    with pytest.raises(ValueError, match="increasing"):
        age_band([30], edges=(40, 30))
    with pytest.raises(ValueError, match="negative"):
        age_band([-3])


# --- the table ---------------------------------------------------------------------------


@pytest.fixture
def clinic() -> pd.DataFrame:
    """60 clients with explicit missing / undisclosed answers and a multi-select race."""
    rng = np.random.default_rng(11)
    n = 60
    race = (
        ["White"] * 20
        + ["Black"] * 12
        + [["Black", "White"]] * 6
        + ["Asian;White"] * 4
        + ["Prefer not to say"] * 8
        + [None] * 5
        + [[]] * 3
        + ["Asian"] * 2
    )
    language = ["English"] * 35 + ["Spanish"] * 15 + ["Prefer not to say"] * 4 + [np.nan] * 6
    return pd.DataFrame(
        {
            "race": race,
            "language": language,
            "ors_change": rng.normal(5, 4, n).round(1),
            "dropout": rng.integers(0, 2, n),
        }
    )


def test_single_select_groups_and_values(clinic: pd.DataFrame) -> None:
    res = equity(clinic, ["ors_change", "dropout"], "language", min_cell=None)
    mean_rows = res[res["outcome"] == "ors_change"].set_index("group")
    assert list(mean_rows.index) == ["English", "Prefer not to say", "Spanish", "Missing"]
    assert mean_rows["n"].tolist() == [35, 4, 15, 6]  # nothing dropped: sums to 60
    assert (mean_rows["membership"] == "exclusive").all()
    assert (mean_rows["reference"] == "English").all()  # largest group by default
    eng = clinic.loc[clinic["language"] == "English", "ors_change"]
    spa = clinic.loc[clinic["language"] == "Spanish", "ors_change"]
    row = mean_rows.loc["Spanish"]
    assert row["estimate"] == pytest.approx(spa.mean())
    ref = stats.ttest_ind(spa, eng, equal_var=False).confidence_interval()
    assert (row["difference"], row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(
        (spa.mean() - eng.mean(), ref.low, ref.high)
    )
    assert np.isnan(mean_rows.loc["English", "difference"])
    assert row["n_reference"] == 35
    prop = res[res["outcome"] == "dropout"].set_index("group").loc["Missing"]
    miss = clinic.loc[clinic["language"].isna(), "dropout"]
    assert prop["kind"] == "proportion"
    assert prop["estimate"] == pytest.approx(miss.mean())
    lo, hi = proportion_confint(miss.sum(), len(miss), method="wilson")
    assert (prop["ci_low"], prop["ci_high"]) == pytest.approx((lo, hi))
    d = confint_proportions_2indep(
        miss.sum(),
        len(miss),
        clinic.loc[clinic["language"] == "English", "dropout"].sum(),
        35,
        method="newcomb",
    )
    assert (prop["diff_ci_low"], prop["diff_ci_high"]) == pytest.approx(d)


def test_multi_select_rule(clinic: pd.DataFrame) -> None:
    res = equity(clinic, "ors_change", "race", multi_select="race", min_cell=None)
    rows = res.set_index("group")
    # any mention: White = 20 alone + 6 Black/White + 4 Asian/White
    assert rows["n"].to_dict() == {
        "Asian": 6,
        "Black": 18,
        "White": 30,
        "Multiracial": 10,
        "Prefer not to say": 8,
        "Missing": 8,  # None and empty selections
    }
    assert rows.loc["Multiracial", "membership"] == "two or more"
    assert rows.loc["White", "membership"] == "any mention"
    multi = clinic["race"].map(lambda v: isinstance(v, list) and len(v) == 2) | clinic["race"].map(
        lambda v: v == "Asian;White"
    )
    assert rows.loc["Multiracial", "estimate"] == pytest.approx(
        clinic.loc[multi, "ors_change"].mean()
    )
    assert (rows["reference"] == "White").all()


def test_prefer_not_to_say_does_not_make_multiracial() -> None:
    df = pd.DataFrame(
        {"race": ["Black;Prefer not to say"] * 12 + ["White"] * 12, "y": np.arange(24.0)}
    )
    rows = equity(df, "y", "race", multi_select="race", min_cell=None).set_index("group")
    assert "Multiracial" not in rows.index
    assert rows.loc["Prefer not to say", "n"] == 12 and rows.loc["Black", "n"] == 12


def test_listwise_gives_common_n(clinic: pd.DataFrame) -> None:
    d = clinic.copy()
    d.loc[[0, 1, 40], "ors_change"] = np.nan
    pair = equity(d, ["ors_change", "dropout"], "language", min_cell=None)
    lw = equity(d, ["ors_change", "dropout"], "language", min_cell=None, nan_policy="listwise")
    n_pair = pair.pivot(index="group", columns="outcome", values="n")
    n_lw = lw.pivot(index="group", columns="outcome", values="n")
    assert n_pair.loc["English", "ors_change"] == 33 and n_pair.loc["English", "dropout"] == 35
    assert (n_lw["ors_change"] == n_lw["dropout"]).all()


def test_suppression_by_default(clinic: pd.DataFrame) -> None:
    res = equity(clinic, "ors_change", "language")
    rows = res.set_index("group")
    # 4 and 6 are small; with the total they would still leave 10 = 60 - 35 - 15, so
    # complementary suppression hides Spanish (15) as well.
    assert rows["suppressed"].to_dict() == {
        "English": False,
        "Prefer not to say": True,
        "Spanish": True,
        "Missing": True,
    }
    for g in ("Prefer not to say", "Spanish", "Missing"):
        assert pd.isna(rows.loc[g, "n"])
        assert rows.loc[g, ["estimate", "ci_low", "ci_high", "difference"]].isna().all()
    assert rows.loc["English", "n"] == 35
    # nothing shown is a count of 1-10
    shown_n = res["n"].dropna()
    assert not ((shown_n >= 1) & (shown_n <= 10)).any()


def test_suppressed_reference_hides_all_differences() -> None:
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 30 + ["c"] * 40, "y": np.arange(75.0)})
    res = equity(df, "y", "g", reference={"g": "a"}).set_index("group")
    assert res.loc["a", "suppressed"]
    assert res["difference"].isna().all()
    assert res["n_reference"].isna().all()


def test_without_blanking_the_figures_stay_and_each_row_says_why_it_would_be_hidden(
    clinic: pd.DataFrame,
) -> None:
    exact = equity(clinic, "ors_change", "language", min_cell=None).set_index("group")
    marked = equity(clinic, "ors_change", "language", blank=False).set_index("group")
    blanked = equity(clinic, "ors_change", "language").set_index("group")
    assert marked["suppression"].to_dict() == {
        "English": "",
        "Prefer not to say": "primary",  # 4 people
        "Spanish": "complementary",  # 15 people, hidden so that the 4 and 6 stay hidden
        "Missing": "primary",  # 6 people
    }
    assert (marked["suppressed"] == blanked["suppressed"]).all()
    figures = ["n", "estimate", "ci_low", "ci_high", "difference"]
    pd.testing.assert_frame_equal(marked[figures], exact[figures])


def test_without_blanking_a_hidden_reference_marks_only_the_differences() -> None:
    df = pd.DataFrame({"g": ["a"] * 5 + ["b"] * 30 + ["c"] * 40, "y": np.arange(75.0)})
    marked = equity(df, "y", "g", reference={"g": "a"}, blank=False).set_index("group")
    # a (5) is small, b (30) hides with it; c is shown but its difference from a is not.
    assert marked["suppression"].to_dict() == {
        "a": "primary",
        "b": "complementary",
        "c": "reference",
    }
    assert marked.loc[["b", "c"], "difference"].notna().all()  # the figures are kept


def test_input_errors(clinic: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not found"):
        equity(clinic, "ors_change", "nope")
    with pytest.raises(ValueError, match="not numeric"):
        equity(clinic, "language", "race")
    with pytest.raises(ValueError, match="coded 0/1"):
        equity(clinic, "ors_change", "language", kind="proportion")
    with pytest.raises(ValueError, match="reference group"):
        equity(clinic, "ors_change", "language", reference={"language": "French"})
    with pytest.raises(ValueError, match="multi_select"):
        equity(clinic, "ors_change", "language", multi_select="race")
    with pytest.raises(ValueError, match="both as outcome"):
        equity(clinic, "dropout", "dropout")
    with pytest.raises(ValueError, match="kind"):
        equity(clinic, "dropout", "language", kind={"dropout": "median"})
    with pytest.raises(ValueError, match="unknown characteristic"):
        equity(clinic, "dropout", "language", reference={"race": "White"})


def test_kind_mapping_and_mean_of_binary(clinic: pd.DataFrame) -> None:
    res = equity(clinic, "dropout", "language", kind={"dropout": "mean"}, min_cell=None)
    row = res.set_index("group").loc["English"]
    assert row["kind"] == "mean"
    x = clinic.loc[clinic["language"] == "English", "dropout"].astype(float)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
    )
