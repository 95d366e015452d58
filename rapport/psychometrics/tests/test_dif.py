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
    holm,
)
from rapport.psychometrics.dif_simulation import ITEMS as SIM_ITEMS
from rapport.psychometrics.dif_simulation import simulate_scale

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
    res = dif(data, ITEMS, "group", rule="r2", r2="nagelkerke").set_index("item")
    # Nagelkerke dR2 for d3 is above .070 -> large; check rule against the numbers.
    for item, row in res.iterrows():
        if row["p_total"] >= 0.01 or row["effect_size"] < 0.035:
            assert row["flag"] == "none", item
        elif row["effect_size"] > 0.070:
            assert row["flag"] == "large", item
        else:
            assert row["flag"] == "moderate", item
    assert res.loc["d3", "flag"] == "large"
    lenient = dif(data, ITEMS, "group", rule="r2", r2="nagelkerke", thresholds=ZUMBO_THOMAS)
    lenient = lenient.set_index("item")
    # Nagelkerke dR2: d3 0.1265 (< .13: not flagged), d5 0.1303 (moderate by Zumbo-Thomas)
    assert lenient.loc["d3", "effect_size"] < 0.13 < lenient.loc["d5", "effect_size"] < 0.26
    assert list(lenient.index[lenient["flag"] != "none"]) == ["d5"]
    assert lenient.loc["d5", "flag"] == "moderate"
    # The p-value criterion matters too: with tiny effect-size cut-offs the flag follows p.
    loose = dif(data, ITEMS, "group", rule="r2", alpha=0.03, thresholds=(1e-6, 2e-6), purify=False)
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


# --- the expected item-score difference and the flag rule ----------------------------------


def _expected_score(zeta: np.ndarray, eta: np.ndarray, values: np.ndarray) -> np.ndarray:
    """sum_k v_k P(Y = k) from the cumulative probabilities P(Y <= k) = F(zeta_k - eta)."""
    cumulative = 1 / (1 + np.exp(-(np.asarray(zeta)[None, :] - eta[:, None])))
    cumulative = np.hstack((np.zeros((len(eta), 1)), cumulative, np.ones((len(eta), 1))))
    return np.diff(cumulative, axis=1) @ values


@pytest.mark.parametrize("grouping", ["group", "group3"])
def test_score_difference_from_polr_coefficients(
    data: pd.DataFrame, results: dict, grouping: str
) -> None:
    """The expected-score difference equals one computed by hand from MASS::polr's M3.

    For each respondent of a focal group, E[item | score, own group] - E[item | score,
    reference group] with category probabilities as differences of polr's cumulative
    probabilities, averaged over the focal group; the largest in absolute value is reported.
    """
    res = results[grouping, "total"].set_index("item")
    score = data[ITEMS].sum(axis=1).to_numpy(float)
    centred = score - score.mean()  # as in the R script
    for rec in RECORDS:
        if (rec["grouping"], rec["matching"]) != (grouping, "total"):
            continue
        values = np.array([float(v) for v in rec["levels"]])
        coef, zeta = np.array(rec["coef"]["m3"]), np.array(rec["zeta"]["m3"])
        n_dummies = len(rec["groups"]) - 1
        by_group = {}
        for f, focal in enumerate(rec["groups"][1:]):
            s = centred[(data[grouping] == focal).to_numpy()]
            main, slope = coef[1 + f], coef[1 + n_dummies + f]
            own = _expected_score(zeta, coef[0] * s + main + slope * s, values)
            reference = _expected_score(zeta, coef[0] * s, values)
            by_group[focal] = float(np.mean(own - reference))
        focal = max(by_group, key=lambda g: abs(by_group[g]))
        row = res.loc[rec["item"]]
        assert row["score_diff_group"] == focal
        assert row["score_diff"] == pytest.approx(by_group[focal], abs=1e-6), rec["item"]
    # The planted uniform DIF of d3 (thresholds +1.4 in B: lower answers) is about a
    # third of a point on the 0-3 scale, against less than 0.15 for the DIF-free items.
    purified = results[grouping, "purified"].set_index("item")
    assert purified.loc["d3", "score_diff"] < -0.3
    assert purified.loc[ANCHORS, "score_diff"].abs().max() < 0.15


def test_score_difference_interval_by_statsmodels_delta_method(data: pd.DataFrame) -> None:
    """The delta-method SE agrees with statsmodels' covariance and a numerical gradient."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    res = dif(data, ITEMS, "group", purify=False, min_cell=0).set_index("item")
    score = data[ITEMS].sum(axis=1).to_numpy(float)
    is_b = (data["group"] == "B").to_numpy()
    x = np.column_stack([score, is_b, score * is_b]).astype(float)
    y = data["d3"].to_numpy()
    model = OrderedModel(y, x, distr="logit")
    fit = model.fit(method="newton", disp=False, maxiter=200)
    values = np.unique(y).astype(float)

    def difference(params: np.ndarray) -> float:
        beta, zeta = params[:3], model.transform_threshold_params(params[3:])[1:-1]
        s = score[is_b]
        own = _expected_score(zeta, beta[0] * s + beta[1] + beta[2] * s, values)
        return float(np.mean(own - _expected_score(zeta, beta[0] * s, values)))

    params = np.asarray(fit.params)
    step = 1e-6
    gradient = np.array(
        [
            (difference(params + step * e) - difference(params - step * e)) / (2 * step)
            for e in np.eye(len(params))
        ]
    )
    se = float(np.sqrt(gradient @ np.asarray(fit.cov_params()) @ gradient))
    row = res.loc["d3"]
    assert row["score_diff"] == pytest.approx(difference(params), abs=1e-7)
    half_width = 1.959963984540054 * se
    assert row["score_diff_ci_high"] - row["score_diff"] == pytest.approx(half_width, rel=1e-4)
    assert row["score_diff"] - row["score_diff_ci_low"] == pytest.approx(half_width, rel=1e-4)


def test_holm_adjustment() -> None:
    # Hand computation: sorted p .01, .03, .04 times 3, 2, 1, made monotone.
    adjusted = holm(np.array([0.04, 0.01, 0.03, np.nan]))
    np.testing.assert_allclose(adjusted[:3], [0.06, 0.03, 0.06])
    assert np.isnan(adjusted[3])


def _simulated(seed: int, n_per_group: int, **kwargs) -> pd.DataFrame:
    return simulate_scale(np.random.default_rng(seed), n_per_group, **kwargs)


def _flagged(result: pd.DataFrame) -> set[str]:
    return set(result.loc[result["flag"] != "none", "item"])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_rule_flags_a_half_sd_shift_at_500_per_group(seed: int) -> None:
    """The calibration condition of bench/dif_power.py: one item shifted 0.5 SD."""
    result = dif(_simulated(seed, 500, shifts={"q4": 0.5}), list(SIM_ITEMS), "group")
    assert _flagged(result) == {"q4"}
    q4 = result.set_index("item").loc["q4"]
    # The focal group B answers lower at equal trait level: about 0.6 item points.
    assert q4["score_diff_group"] == "B"
    assert -0.8 < q4["score_diff"] < -0.45
    assert q4["score_diff_ci_low"] < q4["score_diff"] < q4["score_diff_ci_high"] < 0


@pytest.mark.parametrize("seed", [1, 2])
def test_rule_flags_nothing_dif_free_at_10000_per_group(seed: int) -> None:
    """Every item is 'significant' at this size (impact biases the sum-score matching);
    the score-scale cut-off keeps the DIF-free items unflagged."""
    result = dif(_simulated(seed, 10_000, impact=0.5), list(SIM_ITEMS), "group")
    assert (result["p_total"] < 0.01).sum() >= 4
    assert _flagged(result) == set()
    assert result["score_diff"].abs().max() < 0.1


def test_two_shifted_items_flagged_where_the_r2_rule_flags_none() -> None:
    """Issue #20's case: 0.6 SD on two items, 2,400 respondents, groups differing in level.

    Stepwise purification matters here: with both DIF items in the matching score every
    DIF-free item looks biased by 0.2-0.3 points the other way, so removing all flagged
    items at once would leave fewer than two anchors.
    """
    data = _simulated(5, 1200, shifts={"q3": 0.6, "q6": 0.6}, impact=0.3)
    result = dif(data, list(SIM_ITEMS), "group")
    assert _flagged(result) == {"q3", "q6"}
    assert result.attrs["purification"]["anchors"] == ["q1", "q2", "q4", "q5", "q7", "q8"]
    assert result.attrs["purification"]["converged"]
    assert _flagged(dif(data, list(SIM_ITEMS), "group", rule="r2")) == set()
    at_once = dif(data, list(SIM_ITEMS), "group", purification="all")
    assert len(_flagged(at_once)) > 2
    assert "fewer than 2 unflagged items" in at_once["note"].iloc[0]


def test_score_rule_flag_levels_follow_the_numbers() -> None:
    data = _simulated(4, 500, shifts={"q2": 0.5, "q7": 0.25})
    result = dif(data, list(SIM_ITEMS), "group", score_thresholds=(0.15, 0.45))
    for _, row in result.iterrows():
        size = abs(row["score_diff"])
        if row["p_adjusted"] >= 0.01 or size < 0.15:
            assert row["flag"] == "none", row["item"]
        else:
            assert row["flag"] == ("large" if size >= 0.45 else "moderate"), row["item"]
    assert set(result["flag"]) == {"none", "moderate", "large"}
    # The adjusted p-values are Holm's over the eight items.
    np.testing.assert_allclose(result["p_adjusted"], holm(result["p_total"].to_numpy()))


def test_rule_errors(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="rule must be one of"):
        dif(data, ITEMS, "group", rule="both")
    with pytest.raises(ValueError, match="score_thresholds"):
        dif(data, ITEMS, "group", score_thresholds=(0.4, 0.2))
    with pytest.raises(ValueError, match="purification must be one of"):
        dif(data, ITEMS, "group", purification="lordif")
    with pytest.raises(ValueError, match="unknown items"):
        simulate_scale(np.random.default_rng(0), 10, shifts={"x": 0.5})
