"""Correlation against R cor.test and psych::r.test (tests/reference/make_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from rapport.psychometrics import (
    compare_fixed,
    compare_independent,
    correlate,
    fisher_ci,
)

REF = Path(__file__).parent / "reference"
FIX = json.loads((REF / "correlation_reference.json").read_text())
TOL = 1e-9


@pytest.fixture
def data() -> pd.DataFrame:
    return pd.read_csv(REF / "correlation.csv")


def check(res, exp) -> None:
    assert res.n == exp["n"]
    assert res.r == pytest.approx(exp["r"], abs=TOL)
    assert res.ci == pytest.approx(exp["ci"], abs=TOL)
    assert res.t == pytest.approx(exp["t"], abs=TOL)
    assert res.df == exp["df"]
    assert res.p == pytest.approx(exp["p"], rel=1e-9, abs=1e-300)


def test_matches_cor_test_with_missing_pairs(data: pd.DataFrame) -> None:
    assert data.isna().any(axis=1).sum() > 0  # complete-pairs handling is exercised
    check(correlate(data, "trust", "alliance"), FIX["main"])


def test_matches_cor_test_small_negative_90pct(data: pd.DataFrame) -> None:
    d = data.iloc[:12].copy()
    d["other"] = -d["alliance"] + 0.3 * d["trust"]
    res = correlate(d, "trust", "other", ci=0.90)
    check(res, FIX["small"])
    assert res.r < 0


def test_fixed_published_value(data: pd.DataFrame) -> None:
    res = correlate(data, "trust", "alliance", r0=0.53)
    exp = FIX["fixed"]
    assert res.compare.method == "fixed"
    assert res.compare.z == pytest.approx(exp["z"], abs=TOL)
    assert res.compare.p == pytest.approx(exp["p"], abs=TOL)


@pytest.mark.parametrize("key", ["independent", "independent2"])
def test_independent_sample_matches_r_test(data: pd.DataFrame, key: str) -> None:
    exp = FIX[key]
    res = correlate(data, "trust", "alliance", r0=exp["r0"], n0=exp["n2"])
    assert res.compare.method == "independent"
    assert abs(res.compare.z) == pytest.approx(exp["z"], abs=TOL)  # psych reports |z|
    assert res.compare.p == pytest.approx(exp["p"], abs=TOL)


def test_research_notes_worked_numbers() -> None:
    # notes section 2: n = 300, r = .567108 -> CI [.485014, .639293]; vs .53: z = .915,
    # p = .360; vs independent .53 (n2 = 200): z = .578, p = .563
    lo, hi = fisher_ci(0.567108, 300)
    assert (lo, hi) == pytest.approx((0.485014, 0.639293), abs=2e-6)
    f = compare_fixed(0.567108, 300, 0.53)
    assert (f.z, f.p) == pytest.approx((0.915, 0.360), abs=1e-3)
    i = compare_independent(0.567108, 300, 0.53, 200)
    assert (i.z, i.p) == pytest.approx((0.578, 0.563), abs=1e-3)


def test_sign_of_z_and_symmetry() -> None:
    a = compare_independent(0.3, 100, 0.5, 120)
    b = compare_independent(0.5, 120, 0.3, 100)
    assert a.z < 0 < b.z
    assert a.z == pytest.approx(-b.z)
    assert a.p == pytest.approx(b.p)


def test_scipy_agrees(data: pd.DataFrame) -> None:
    d = data.dropna()
    r, p = stats.pearsonr(d["trust"], d["alliance"])
    res = correlate(data, "trust", "alliance")
    assert res.r == pytest.approx(r, abs=1e-12)
    assert res.p == pytest.approx(p, rel=1e-8)


def test_as_dict_and_frame(data: pd.DataFrame) -> None:
    res = correlate(data, "trust", "alliance", r0=0.53)
    d = json.loads(json.dumps(res.as_dict(), allow_nan=False))
    assert set(d) >= {"n", "r", "ci", "p", "compare"}
    assert set(d["compare"]) >= {"r0", "z", "p"}
    frame = res.to_frame()
    assert list(frame.columns) == ["x", "y", "n", "r", "ci_low", "ci_high", "t", "df", "p_val"]
    assert frame.loc[0, "r"] == res.r


def test_three_pairs_has_no_ci() -> None:
    df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 3.0, 2.0]})
    res = correlate(df, "a", "b")
    assert res.r == pytest.approx(0.5)
    assert np.isnan(res.ci[0]) and np.isnan(res.ci[1])
    assert json.loads(json.dumps(res.as_dict()))["ci"] == [None, None]
    with pytest.raises(ValueError, match="at least 4 complete pairs"):
        correlate(df, "a", "b", r0=0.3)


def test_perfect_correlation() -> None:
    df = pd.DataFrame({"a": [1.0, 2, 3, 4, 5], "b": [2.0, 4, 6, 8, 10]})
    res = correlate(df, "a", "b")
    assert res.r == 1.0 and res.p == 0.0
    assert res.ci == (1.0, 1.0)


@pytest.mark.parametrize(
    ("frame", "kwargs", "message"),
    [
        ({"a": [1, 2, 3, 4], "b": [1, 1, 1, 1]}, {}, "column 'b' has no variance"),
        ({"a": [1, 2, None, 4], "b": [1, None, 3, 2]}, {}, "at least 3 complete pairs"),
        ({"a": [1, 2, 3, 4], "b": ["x", "y", "z", "w"]}, {}, "column 'b' is not numeric"),
        ({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3]}, {"r0": 1.0}, "rho0 must be strictly between"),
        ({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3]}, {"r0": 0.2, "n0": 3}, "n2 must be an integer"),
        ({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3]}, {"ci": 1.5}, "ci must be strictly between"),
    ],
)
def test_bad_input(frame: dict, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        correlate(pd.DataFrame(frame), "a", "b", **kwargs)


def test_missing_and_same_columns(data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not found: 'outcome'"):
        correlate(data, "trust", "outcome")
    with pytest.raises(ValueError, match="different columns"):
        correlate(data, "trust", "trust")
