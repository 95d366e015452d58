"""Reliability against R psych 2.2.9 fixtures (tests/reference/make_reference.R).

Every statistic psych::alpha reports that we expose is compared to 1e-9, for
complete data, ~6% MCAR missing (pairwise and listwise) and reverse-keyed items.
Debian ships psych 2.2.9, whose standardized statistics come from cov2cor(C);
they are matched with ``r_from="cov2cor"``.  The default ``r_from="cor"`` (psych
>= 2.4.1) is matched against the "modern" block, recomputed in R from cor(x, use).
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from rapport.psychometrics import feldt_ci, omega_total, r_qf, reliability

# the package re-exports the function `reliability`, which shadows the module attribute
rel = importlib.import_module("rapport.psychometrics.reliability")

REF = Path(__file__).parent / "reference"
ALPHA = json.loads((REF / "alpha_reference.json").read_text())
LARGE = json.loads((REF / "alpha_large_reference.json").read_text())
OMEGA = json.loads((REF / "omega_reference.json").read_text())
TOL = 1e-9


def load(name: str) -> pd.DataFrame:
    return pd.read_csv(REF / name)


def run_case(case: dict, r_from: str) -> rel.ReliabilityResult:
    missing = "listwise" if case["use"] == "complete.obs" else "pairwise"
    return reliability(load(case["file"]), missing=missing, reverse=case["keys"], r_from=r_from)


@pytest.mark.parametrize("name", sorted(ALPHA))
@pytest.mark.parametrize("r_from", ["cov2cor", "cor"])
def test_alpha_matches_psych(name: str, r_from: str) -> None:
    case = ALPHA[name]
    res = run_case(case, r_from)
    assert res.n == case["n"]
    assert res.k == case["k"]
    assert res.alpha == pytest.approx(case["alpha"], abs=TOL)
    assert res.ase == pytest.approx(case["ase"], abs=TOL)
    assert res.feldt_ci == pytest.approx(case["feldt_ci"], abs=TOL)
    assert res.duhachek_ci == pytest.approx(case["duhachek_ci"], abs=TOL)
    assert res.total_mean == pytest.approx(case["total_mean"], abs=TOL)
    assert res.total_sd == pytest.approx(case["total_sd"], abs=TOL)
    items = res.items
    exp = case["items"]
    assert list(items["item"]) == exp["item"]
    assert list(items["n"]) == exp["n"]
    for col in ("mean", "sd", "raw_r", "r_drop", "alpha_if_dropped"):
        np.testing.assert_allclose(items[col], exp[col], atol=TOL, rtol=0, err_msg=col)
    if r_from == "cov2cor":  # psych 2.2.9 as installed by Debian
        std_alpha, std_r, std_drop = case["std_alpha"], exp["std_r"], exp["std_alpha_if_dropped"]
        assert res.average_r == pytest.approx(case["average_r"], abs=TOL)
    else:  # psych >= 2.4.1 rule, R = cor(x, use)
        mod = case["modern"]
        std_alpha, std_r, std_drop = mod["std_alpha"], mod["std_r"], mod["std_alpha_if_dropped"]
    assert res.std_alpha == pytest.approx(std_alpha, abs=TOL)
    np.testing.assert_allclose(items["std_r"], std_r, atol=TOL, rtol=0)
    np.testing.assert_allclose(items["std_alpha_if_dropped"], std_drop, atol=TOL, rtol=0)


def test_std_rules_differ_only_with_pairwise_missing() -> None:
    # The two psych versions disagree under pairwise deletion (notes section 1.2) ...
    case = ALPHA["missing_pairwise"]
    assert abs(case["std_alpha"] - case["modern"]["std_alpha"]) > 1e-5
    new, old = run_case(case, "cor"), run_case(case, "cov2cor")
    assert abs(new.std_alpha - old.std_alpha) > 1e-5
    # ... and not with complete data.
    case = ALPHA["complete"]
    assert run_case(case, "cor").std_alpha == pytest.approx(run_case(case, "cov2cor").std_alpha)


def test_listwise_uses_all_rows_for_ci_like_psych() -> None:
    case = ALPHA["missing_listwise"]
    res = run_case(case, "cor")
    assert res.n == 500
    assert res.n_complete < 400  # listwise deletion removed many rows ...
    # ... yet psych's Feldt interval uses n = nrow(x) = 500; reproduce it.
    assert res.feldt_ci == pytest.approx(feldt_ci(res.alpha, 500, 8), abs=1e-15)
    assert res.feldt_ci != pytest.approx(feldt_ci(res.alpha, res.n_complete, 8), abs=1e-6)


def test_block_accumulation_matches_single_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    # Tiny blocks exercise the accumulation across many blocks (incl. a ragged last one).
    monkeypatch.setattr(rel, "_CHUNK", 37)
    for name in ("missing_pairwise", "reverse_listwise"):
        case = ALPHA[name]
        res = run_case(case, "cov2cor")
        assert res.alpha == pytest.approx(case["alpha"], abs=TOL)
        assert res.std_alpha == pytest.approx(case["std_alpha"], abs=TOL)
        np.testing.assert_allclose(res.items["raw_r"], case["items"]["raw_r"], atol=TOL)
        np.testing.assert_allclose(res.items["sd"], case["items"]["sd"], atol=TOL)


def test_large_n_uses_r_qf_branch() -> None:
    big = pd.concat([load("alpha_complete.csv")] * LARGE["repeats"], ignore_index=True)
    res = reliability(big)
    assert res.n == LARGE["n"] == 60_000
    assert res.alpha == pytest.approx(LARGE["alpha"], abs=TOL)
    assert res.feldt_ci == pytest.approx(LARGE["feldt_ci"], abs=TOL)
    exact = reliability(big, qf_mode="exact").feldt_ci
    # R's chi-square limit moves the interval by ~1e-4 at this n (notes section 1.3)
    assert 2e-5 < max(abs(a - b) for a, b in zip(exact, res.feldt_ci, strict=True)) < 5e-4


@pytest.mark.parametrize("i", range(len(LARGE["qf"])))
def test_r_qf_matches_r(i: int) -> None:
    c = LARGE["qf"][i]
    assert r_qf(c["p"], c["df1"], c["df2"]) == pytest.approx(c["value"], rel=1e-12)


def test_pingouin_parity() -> None:
    pg = pytest.importorskip("pingouin")
    for name, policy in (("alpha_missing.csv", "pairwise"), ("alpha_missing.csv", "listwise")):
        df = load(name)
        a, ci = pg.cronbach_alpha(df, nan_policy=policy)
        res = reliability(df, missing=policy, qf_mode="exact")
        assert res.alpha == pytest.approx(a, abs=1e-12)
        assert res.feldt_ci == pytest.approx(tuple(ci), abs=5e-4)  # pingouin rounds to 3 dp


def test_reverse_keying_uses_global_min_max() -> None:
    df = load("alpha_reverse.csv")
    lo, hi = np.nanmin(df.to_numpy()), np.nanmax(df.to_numpy())
    assert (lo, hi) == (1, 7)
    assert (df["q5"].min(), df["q5"].max()) == (2, 6)  # per-item range differs
    flipped = df.copy()
    flipped[["q3", "q5"]] = (lo + hi) - df[["q3", "q5"]]
    a = reliability(df, reverse=["q3", "q5"])
    b = reliability(flipped)
    assert a.alpha == pytest.approx(b.alpha, abs=1e-12)
    pd.testing.assert_series_equal(a.items["mean"], b.items["mean"])
    assert list(a.items["reversed"]) == [False, False, True, False, True, False, False, False]


def test_items_subset_and_order() -> None:
    df = load("alpha_complete.csv")
    df["client"] = "x"
    res = reliability(df, items=["q8", "q1", "q2"])
    assert list(res.items["item"]) == ["q8", "q1", "q2"]
    assert res.k == 3
    sub = df[["q8", "q1", "q2"]]
    c = sub.cov().to_numpy()
    assert res.alpha == pytest.approx(1.5 * (1 - np.trace(c) / c.sum()), abs=1e-12)


def test_bootstrap_is_seeded_and_resamples_rows() -> None:
    df = load("alpha_missing.csv")
    a = reliability(df, n_boot=200, seed=7)
    b = reliability(df, n_boot=200, seed=7)
    c = reliability(df, n_boot=200, seed=8)
    assert a.bootstrap_ci == b.bootstrap_ci
    assert a.bootstrap_ci != c.bootstrap_ci
    lo, hi = a.bootstrap_ci
    assert lo < a.alpha < hi
    # comparable width to the analytic intervals (they agree closely at n = 500)
    assert (hi - lo) == pytest.approx(a.feldt_ci[1] - a.feldt_ci[0], rel=0.3)
    # one replicate == alpha of the explicitly resampled table (same Generator draws)
    one = reliability(df, n_boot=1, seed=11)
    idx = np.random.default_rng(11).integers(0, len(df), size=len(df))
    direct = reliability(df.iloc[idx].reset_index(drop=True))
    assert one.bootstrap_ci[0] == pytest.approx(direct.alpha, abs=1e-12)
    assert reliability(df).bootstrap_ci is None


def test_bootstrap_listwise_and_reverse_run() -> None:
    df = load("alpha_reverse.csv")
    res = reliability(df, missing="listwise", reverse=["q3", "q7"], n_boot=1, seed=3)
    idx = np.random.default_rng(3).integers(0, len(df), size=len(df))
    direct = reliability(df.iloc[idx], missing="listwise", reverse=["q3", "q7"])
    assert res.bootstrap_ci[0] == pytest.approx(direct.alpha, abs=1e-12)


def test_as_dict_is_json_ready() -> None:
    res = reliability(load("alpha_missing.csv"), n_boot=5, seed=1)
    d = res.as_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["alpha"] == pytest.approx(res.alpha)
    assert set(d["items"][0]) >= {
        "item", "n", "mean", "sd", "raw_r", "std_r", "r_drop", "alpha_if_dropped",
    }  # fmt: skip
    assert len(d["feldt_ci"]) == 2


def test_two_items() -> None:
    df = load("alpha_complete.csv")[["q1", "q2"]]
    res = reliability(df)
    c = df.cov().to_numpy()
    assert res.alpha == pytest.approx(2 * (1 - np.trace(c) / c.sum()), abs=1e-12)
    assert res.items["alpha_if_dropped"].isna().all()
    r = df.corr().iloc[0, 1]
    np.testing.assert_allclose(res.items["r_drop"], [r, r], atol=1e-12)


# ---------------------------------------------------------------- textbook identities


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(6, 40), st.integers(3, 6)), elements=st.integers(1, 5))
)
def test_complete_data_textbook_formulas(x: np.ndarray) -> None:
    """Alpha = k/(k-1)(1 - sum var_i / var(total)); r_drop = cor(item, rest score)."""
    if (x.std(axis=0) == 0).any():
        return
    rest = x.sum(axis=1, keepdims=True) - x
    if (rest.std(axis=0) == 0).any():
        return
    k = x.shape[1]
    res = reliability(pd.DataFrame(x, columns=[f"i{j}" for j in range(k)]))
    var = x.var(axis=0, ddof=1)
    alpha = k / (k - 1) * (1 - var.sum() / x.sum(axis=1).var(ddof=1))
    assert res.alpha == pytest.approx(alpha, abs=1e-9)
    r_rest = [np.corrcoef(x[:, j], rest[:, j])[0, 1] for j in range(k)]
    np.testing.assert_allclose(res.items["r_drop"], r_rest, atol=1e-9)
    r_tot = [np.corrcoef(x[:, j], x.mean(axis=1))[0, 1] for j in range(k)]
    np.testing.assert_allclose(res.items["raw_r"], r_tot, atol=1e-9)


# ---------------------------------------------------------------- omega


@pytest.mark.parametrize("name", sorted(OMEGA))
def test_omega_matches_psych(name: str) -> None:
    case = OMEGA[name]
    om = omega_total(load(case["file"]))
    # psych's minres optimiser stops early; agreement is ~1e-6 (brief: ~1e-3)
    assert om.omega_total == pytest.approx(case["omega_total"], abs=1e-4)
    assert om.omega_h == pytest.approx(case["omega_h"], abs=1e-4)
    assert om.std_alpha == pytest.approx(case["alpha_std"], abs=1e-12)
    np.testing.assert_allclose(om.loadings["loading"], case["loadings"], atol=1e-4)
    np.testing.assert_allclose(om.loadings["uniqueness"], case["u2"], atol=1e-4)
    assert json.loads(json.dumps(om.as_dict()))["k"] == 8


def test_omega_flips_negative_items_like_psych() -> None:
    df = load("alpha_complete.csv")
    neg = df.copy()
    neg["q3"] = 6 - neg["q3"]
    om = omega_total(neg)
    assert list(om.loadings["flipped"]) == [c == "q3" for c in df.columns]
    base = omega_total(df)
    assert om.omega_total == pytest.approx(base.omega_total, abs=1e-9)
    kept = omega_total(neg, flip=False)
    assert kept.omega_total < base.omega_total - 0.05


# ---------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"missing": "everything"}, "missing must be one of"),
        ({"r_from": "x"}, "r_from must be one of"),
        ({"qf_mode": "r"}, "qf_mode must be one of"),
        ({"ci": 95}, "ci must be strictly between 0 and 1"),
        ({"n_boot": -1}, "n_boot must be >= 0"),
        ({"seed": 1.5}, "seed must be an integer"),
        ({"reverse": ["q9"]}, "reverse: column\\(s\\) not among the items: 'q9'"),
        ({"items": ["q1"]}, "at least 2 items are required"),
        ({"items": ["q1", "nope"]}, "column\\(s\\) not found: 'nope'"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        reliability(load("alpha_complete.csv"), **kwargs)


def test_bad_data() -> None:
    df = load("alpha_complete.csv").head(10).copy()
    with pytest.raises(ValueError, match="at least 3 rows"):
        reliability(df.head(2))
    const = df.assign(q2=3)
    with pytest.raises(ValueError, match=r"without variance.*'q2'"):
        reliability(const)
    text = df.astype({"q4": object})
    text.loc[3, "q4"] = "often"
    with pytest.raises(ValueError, match="column 'q4' is not numeric \\(found value 'often'\\)"):
        reliability(text)
    sparse = df.astype(float)
    sparse.loc[:5, "q1"] = np.nan
    sparse.loc[6:, "q2"] = np.nan
    with pytest.raises(ValueError, match="'q1' and 'q2' are answered together by only 0"):
        reliability(sparse)
    holes = df.astype(float)
    for i in range(8):
        holes.iloc[i, i] = np.nan
    with pytest.raises(ValueError, match="listwise deletion leaves 2 complete row"):
        reliability(holes, missing="listwise")
    with pytest.raises(ValueError, match="must be a pandas DataFrame"):
        reliability(df.to_numpy())


# ---------------------------------------------------------------- independent implementations


def test_many_blocks_match_pandas_pairwise_cov_and_corr() -> None:
    """50,000 rows (25 blocks), 15% MCAR: C and R equal pandas' pairwise .cov()/.corr()."""
    rng = np.random.default_rng(5)
    n, k = 50_000, 6
    f = rng.standard_normal(n)
    x = np.rint(3 + f[:, None] * 0.8 + rng.standard_normal((n, k)))
    x[rng.random((n, k)) < 0.15] = np.nan
    df = pd.DataFrame(x, columns=list("abcdef"))
    res = reliability(df)
    c = df.cov().to_numpy()
    r = df.corr().to_numpy()
    assert res.alpha == pytest.approx((1 - np.trace(c) / c.sum()) * k / (k - 1), abs=1e-12)
    assert res.std_alpha == pytest.approx((1 - k / r.sum()) * k / (k - 1), abs=1e-12)
    np.testing.assert_allclose(res.items["sd"], df.std(), atol=1e-12)
    np.testing.assert_allclose(res.items["mean"], df.mean(), atol=1e-12)
    total = df.mean(axis=1)
    np.testing.assert_allclose(res.items["raw_r"], [total.corr(df[col]) for col in df], atol=1e-12)


def test_blank_rows_count_in_n_like_psych() -> None:
    df = load("alpha_missing.csv")
    blank = pd.concat([df, pd.DataFrame(np.nan, index=range(3), columns=df.columns)])
    a, b = reliability(df), reliability(blank)
    assert b.n == a.n + 3
    assert b.alpha == pytest.approx(a.alpha, abs=1e-14)
    assert b.feldt_ci == pytest.approx(feldt_ci(a.alpha, a.n + 3, 8), abs=1e-14)
    assert b.total_mean == pytest.approx(a.total_mean, abs=1e-14)


def test_nullable_integer_columns() -> None:
    df = load("alpha_missing.csv")
    nullable = df.astype("Int64")
    assert nullable["q1"].isna().any()
    a, b = reliability(df), reliability(nullable)
    assert b.alpha == a.alpha
    pd.testing.assert_frame_equal(a.items, b.items)
