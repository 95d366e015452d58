"""Tests for rapport.psychometrics.dif against MASS::polr and planted truth.

Reference: ``reference/dif_reference.json`` written by ``reference/make_dif_reference.R``
(MASS 7.3-58.2, R 4.2.2) from ``reference/dif_items.csv`` (``reference/dif_make_data.py``).

Precision.  polr maximises with BFGS (``optim``); even at ``reltol = 1e-15`` and restarted
from its own optimum it stops where the log-likelihood is flat to ~1e-12, which leaves the
parameters ~1e-7 from the optimum (the error in a parameter is of the order of the square
root of the error in the log-likelihood).  Our Newton-Raphson fit is converged to rounding
error (its log-likelihood is never below polr's).  Hence the tolerances: log-likelihoods,
LR statistics and p-values 1e-10 absolute; slopes and thresholds 1e-6 absolute (observed:
llf 5e-12, LR and p 9e-12, coefficients 3e-7).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapport.psychometrics.dif import (
    ZUMBO_THOMAS,
    _collapse,
    _design,
    _fit_polr,
    _item_models,
    _null_llf,
    dif,
)

REF = Path(__file__).parent / "reference"
ITEMS = [f"d{j}" for j in range(1, 9)]
ANCHORS = ["d1", "d2", "d4", "d6", "d7", "d8"]
FIXTURE = json.loads((REF / "dif_reference.json").read_text())
RECORDS = FIXTURE["records"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "dif_items.csv")


@pytest.fixture(scope="module")
def results(data: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """dif() output for both groupings, unpurified (total score) and purified."""
    out = {}
    for grouping in ("group", "group3"):
        out[grouping, "total"] = dif(data, ITEMS, grouping, purify=False, min_cell=0)
        out[grouping, "purified"] = dif(data, ITEMS, grouping, purify=True, min_cell=0)
    return out


def _rid(rec: dict) -> str:
    return f"{rec['grouping']}-{rec['matching']}-{rec['item']}"


@pytest.mark.parametrize("rec", RECORDS, ids=_rid)
def test_models_match_polr(data: pd.DataFrame, rec: dict) -> None:
    cols = ITEMS if rec["matching"] == "total" else sorted(set(ANCHORS) | {rec["item"]})
    score = data[cols].sum(axis=1).to_numpy(float)
    score -= score.mean()  # the R script centres the score (see its header)
    levels, gcodes = np.unique(data[rec["grouping"]], return_inverse=True)
    assert list(levels) == rec["groups"]
    y, _ = _collapse(data[rec["item"]].to_numpy(float), gcodes, 0)
    assert y.max() + 1 == len(rec["levels"])
    assert _null_llf(y) == pytest.approx(rec["llf"]["m0"], abs=1e-10)
    for name, x in _design(score, gcodes, len(levels)).items():
        fit = _fit_polr(y, x)
        assert fit.converged
        assert fit.llf == pytest.approx(rec["llf"][name], abs=1e-10)
        assert fit.llf >= rec["llf"][name] - 1e-11  # never worse than polr
        np.testing.assert_allclose(fit.beta, rec["coef"][name], rtol=0, atol=1e-6)
        np.testing.assert_allclose(fit.zeta, rec["zeta"][name], rtol=0, atol=1e-6)


@pytest.mark.parametrize("rec", RECORDS, ids=_rid)
def test_lr_tests_match_polr(results: dict, rec: dict) -> None:
    res = results[rec["grouping"], rec["matching"]].set_index("item").loc[rec["item"]]
    n_groups = len(rec["groups"])
    for key in ("lr_uniform", "p_uniform", "lr_nonuniform", "p_nonuniform", "lr_total", "p_total"):
        assert res[key] == pytest.approx(rec[key], abs=1e-10), key
    assert res["df_uniform"] == res["df_nonuniform"] == n_groups - 1
    assert res["df_total"] == 2 * (n_groups - 1)
    ll = rec["llf"]
    mcfadden = (ll["m3"] - ll["m1"]) / -ll["m0"]  # 1 - l3/l0 - (1 - l1/l0)
    assert res["effect_size"] == pytest.approx(mcfadden, abs=1e-12)
    assert res["dr2_uniform"] == pytest.approx((ll["m2"] - ll["m1"]) / -ll["m0"], abs=1e-12)
    assert res["n"] == rec["n"]


def test_nagelkerke_effect_size_by_hand(data: pd.DataFrame) -> None:
    rec = next(
        r for r in RECORDS if (r["grouping"], r["matching"], r["item"]) == ("group", "total", "d3")
    )
    n, ll = rec["n"], rec["llf"]

    def nagelkerke(lm: float) -> float:
        return (1 - np.exp(2 * (ll["m0"] - lm) / n)) / (1 - np.exp(2 * ll["m0"] / n))

    def cox_snell(lm: float) -> float:
        return 1 - np.exp(2 * (ll["m0"] - lm) / n)

    res = dif(data, ITEMS, "group", purify=False, min_cell=0, r2="nagelkerke")
    got = res.set_index("item").loc["d3", "effect_size"]
    assert got == pytest.approx(nagelkerke(ll["m3"]) - nagelkerke(ll["m1"]), abs=1e-10)
    res = dif(data, ITEMS, "group", purify=False, min_cell=0, r2="coxsnell")
    got = res.set_index("item").loc["d3", "effect_size"]
    assert got == pytest.approx(cox_snell(ll["m3"]) - cox_snell(ll["m1"]), abs=1e-10)


def test_matches_statsmodels_ordered_model(data: pd.DataFrame) -> None:
    """A second, independent optimiser (statsmodels OrderedModel, logit) agrees."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    score = data[ITEMS].sum(axis=1).to_numpy(float)
    score -= score.mean()
    g = (data["group"] == "B").to_numpy(float)
    x = np.column_stack([score, g, score * g])
    y = data["d5"].to_numpy()
    sm = OrderedModel(y, x, distr="logit").fit(method="newton", disp=False, maxiter=200)
    ours = _fit_polr(y, x)
    assert ours.llf == pytest.approx(sm.llf, abs=1e-9)
    np.testing.assert_allclose(ours.beta, sm.params[:3], atol=1e-7)


def test_frequency_weighted_cells_equal_the_per_respondent_fits(data: pd.DataFrame) -> None:
    """_item_models fits one weighted row per (response, score, group): same optimum."""
    y = data["d5"].to_numpy() - data["d5"].min()
    score = data[ITEMS].sum(axis=1).to_numpy(float)
    gcodes = pd.factorize(data["group3"], sort=True)[0]
    cells = _item_models(y, score, gcodes, 3)["fits"]
    previous = None
    for name, x in _design(score, gcodes, 3).items():
        plain = previous = _fit_polr(y, x, start=previous)
        assert cells[name].converged and plain.converged
        assert cells[name].llf == pytest.approx(plain.llf, abs=1e-10)
        np.testing.assert_allclose(cells[name].beta, plain.beta, rtol=0, atol=1e-8)
        np.testing.assert_allclose(cells[name].zeta, plain.zeta, rtol=0, atol=1e-8)
    weights = np.array([1.0, 3.0, 2.0, 1.0, 4.0, 2.0, 1.0, 1.0])
    y_small = np.array([0, 1, 2, 1, 0, 2, 1, 0])
    x_small = np.array([[0.5], [1.0], [2.0], [-1.0], [0.0], [1.5], [0.3], [-0.7]])
    repeated = np.repeat(np.arange(len(weights)), weights.astype(int))
    weighted = _fit_polr(y_small, x_small, weights=weights)
    expanded = _fit_polr(y_small[repeated], x_small[repeated])
    assert weighted.llf == pytest.approx(expanded.llf, abs=1e-12)
    np.testing.assert_allclose(weighted.beta, expanded.beta, rtol=0, atol=1e-9)


# --- planted truth -----------------------------------------------------------------------


@pytest.mark.parametrize("grouping", ["group", "group3"])
def test_planted_dif_recovered(results: dict, grouping: str) -> None:
    """d3 (uniform) and d5 (non-uniform) are flagged, nothing else (dif_make_data.py)."""
    res = results[grouping, "purified"].set_index("item")
    flagged = set(res.index[res["flag"] != "none"])
    assert flagged == {"d3", "d5"}
    # d3: uniform DIF (group main effect), no interaction.
    assert res.loc["d3", "p_uniform"] < 1e-10
    assert res.loc["d3", "p_nonuniform"] > 0.01
    # d5: non-uniform DIF (interaction), the main effect alone is not significant at .01.
    assert res.loc["d5", "p_nonuniform"] < 1e-10
    assert res.loc["d5", "p_uniform"] > 0.01
    assert res.attrs["purification"]["anchors"] == ANCHORS
    assert res.attrs["purification"]["converged"]
    assert not res.loc["d3", "anchor"] and res.loc["d1", "anchor"]


@pytest.mark.parametrize("seed", [7, 11])
def test_planted_dif_recovered_other_seeds(seed: int) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("dif_make_data", REF / "dif_make_data.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    d = gen.make(seed=seed, n=1000)
    res = dif(d, ITEMS, "group")
    assert set(res.loc[res["flag"] != "none", "item"]) == {"d3", "d5"}


def test_purification_changes_matching_score(data: pd.DataFrame, results: dict) -> None:
    """The purified statistics are those of the anchor-based score, not the total score."""
    unpurified = results["group", "total"].set_index("item")
    purified = results["group", "purified"].set_index("item")
    assert unpurified.loc["d1", "lr_total"] != pytest.approx(purified.loc["d1", "lr_total"])


def test_no_dif_without_purification_flags_nothing_extra(results: dict) -> None:
    res = results["group", "total"]
    assert set(res.loc[res["flag"] != "none", "item"]) <= {"d3", "d5"}


def test_flag_levels_and_thresholds(data: pd.DataFrame) -> None:
    res = dif(data, ITEMS, "group", r2="nagelkerke").set_index("item")
    # Nagelkerke dR2 for d3 is above .070 -> large; check rule against the numbers.
    for item, row in res.iterrows():
        if row["p_total"] >= 0.01 or row["effect_size"] < 0.035:
            assert row["flag"] == "none", item
        elif row["effect_size"] > 0.070:
            assert row["flag"] == "large", item
        else:
            assert row["flag"] == "moderate", item
    assert res.loc["d3", "flag"] == "large"
    lenient = dif(data, ITEMS, "group", r2="nagelkerke", thresholds=ZUMBO_THOMAS)
    lenient = lenient.set_index("item")
    # Nagelkerke dR2: d3 0.1265 (< .13: not flagged), d5 0.1303 (moderate by Zumbo-Thomas)
    assert lenient.loc["d3", "effect_size"] < 0.13 < lenient.loc["d5", "effect_size"] < 0.26
    assert list(lenient.index[lenient["flag"] != "none"]) == ["d5"]
    assert lenient.loc["d5", "flag"] == "moderate"
    # The p-value criterion matters too: with tiny effect-size cut-offs the flag follows p.
    loose = dif(data, ITEMS, "group", alpha=0.03, thresholds=(1e-6, 2e-6), purify=False)
    assert (loose["effect_size"] > 2e-6).all()
    expected = np.where(loose["p_total"] < 0.03, "large", "none")
    assert list(loose["flag"]) == list(expected)
    assert 0 < (loose["flag"] == "none").sum() < 8


# --- categories, groups, input errors ------------------------------------------------------


def test_empty_category_collapsed_with_note(data: pd.DataFrame, results: dict) -> None:
    row = results["group", "total"].set_index("item").loc["d8"]
    assert row["n_categories"] == 3
    assert "empty category 2 dropped" in row["note"]
    assert results["group", "total"].set_index("item").loc["d1", "note"] == ""


def test_sparse_category_merged() -> None:
    values = np.array(
        [0] * 30 + [1] * 30 + [2] * 3 + [3] * 40 + [0] * 30 + [1] * 30 + [2] * 20 + [3] * 40, float
    )
    groups = np.array([0] * 103 + [1] * 120)
    codes, notes = _collapse(values, groups, 5)
    # category 2 has 3 responses in group 0: merged with its smaller neighbour (1: 60 < 80)
    assert codes.max() == 2
    assert np.array_equal(np.unique(codes[values == 2]), np.unique(codes[values == 1]))
    assert notes == ["categories 1 and 2 merged (fewer than 5 responses in a group)"]
    codes0, notes0 = _collapse(values, groups, 0)
    assert codes0.max() == 3 and notes0 == []


def test_sparse_category_in_dif_output(data: pd.DataFrame) -> None:
    d = data.copy()
    d.loc[d.index[(d["group"] == "B") & (d["d1"] == 3)][3:], "d1"] = 2  # leave 3 in B
    res = dif(d, ITEMS, "group", purify=False).set_index("item")
    assert res.loc["d1", "n_categories"] == 3
    assert "merged" in res.loc["d1", "note"]


def test_constant_item_not_tested(data: pd.DataFrame) -> None:
    d = data.copy()
    d["d9"] = 1
    res = dif(d, [*ITEMS, "d9"], "group", purify=False).set_index("item")
    assert np.isnan(res.loc["d9", "p_total"])
    assert res.loc["d9", "flag"] == "none"
    assert "not tested" in res.loc["d9", "note"]


def test_small_group_raises(data: pd.DataFrame) -> None:
    d = data.iloc[:560]  # 500 A, 60 B
    with pytest.raises(ValueError, match="at least 100 respondents"):
        dif(d, ITEMS, "group")
    assert len(dif(d, ITEMS, "group", min_group_size=50, purify=False)) == 8


def test_input_errors(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="at least 2 items"):
        dif(data, ["d1"], "group")
    with pytest.raises(ValueError, match="not found"):
        dif(data, ITEMS, "nope")
    with pytest.raises(ValueError, match="r2 must be one of"):
        dif(data, ITEMS, "group", r2="tjur")
    with pytest.raises(ValueError, match="at least 2 groups"):
        dif(data.assign(one="x"), ITEMS, "one")
    with pytest.raises(ValueError, match="integer-coded"):
        dif(data.assign(d1=data["d1"] + 0.5), ITEMS, "group")
    with pytest.raises(ValueError, match="thresholds"):
        dif(data, ITEMS, "group", thresholds=(0.07, 0.035))
    with pytest.raises(ValueError, match="also listed"):
        dif(data, [*ITEMS, "id"], "id")


def test_missing_values_policy(data: pd.DataFrame) -> None:
    d = data.copy().astype({"d2": float})
    d.loc[[0, 5], "d2"] = np.nan
    d.loc[9, "group"] = None
    with pytest.raises(ValueError, match="3 respondent"):
        dif(d, ITEMS, "group")
    res = dif(d, ITEMS, "group", nan_policy="listwise", purify=False)
    assert (res["n"] == 997).all()
