"""Tests for rapport.psychometrics.multilevel against lme4 and planted behaviour.

Reference: ``reference/multilevel_reference.json`` and the seeded synthetic clinic
``reference/multilevel_clients.csv``, both written by
``reference/make_multilevel_reference.R`` (lme4 1.1-31, R 4.2.2; bobyqa with
``rhoend = 1e-12``).

Tolerances.  The linear model's REML criterion is profiled to one parameter and
minimised by bounded Brent to 1e-10 in log(tau^2/sigma^2); lme4's bobyqa stops within
~1e-7 relative: fixed effect, variance components and BLUPs agree to 1e-6 relative.
The logistic model is the same Laplace approximation maximised by a different optimiser
(L-BFGS-B vs bobyqa) over a surface that is flat near the optimum: our log-likelihood
at lme4's estimates is within 1e-6 of ours at our own, and the estimates differ by up to
3e-4 (tolerance 5e-4 absolute for intercept, tau^2, conditional modes and variances).
lme4's reported ``logLik`` is 1e-4 below the Laplace value at its own estimates (its
PIRLS tolerance), hence 2e-4 there.  The intercept's standard error is the inverse
finite-difference Hessian in (beta, tau), as lme4's ``vcov``; both are numerical
Hessians at slightly different points: 5e-3 relative (observed 3e-3).  The language
gap is checked against the script's independent base-R implementation to 1e-6.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rapport.psychometrics.multilevel import (
    group_gaps,
    random_intercepts,
    random_intercepts_binary,
)

REF = Path(__file__).parent / "reference"
CLIENTS = pd.read_csv(REF / "multilevel_clients.csv")
FIXTURE = json.loads((REF / "multilevel_reference.json").read_text())


@pytest.mark.parametrize("outcome", ["trust", "alliance"])
def test_linear_model_matches_lmer(outcome):
    expected = FIXTURE[outcome]
    fit = random_intercepts(CLIENTS, outcome)
    model = fit.attrs["model"]
    assert model["intercept"] == pytest.approx(expected["intercept"], rel=1e-6)
    assert model["intercept_se"] == pytest.approx(expected["intercept_se"], rel=1e-6)
    assert model["tau2"] == pytest.approx(expected["tau2"], rel=1e-6)
    assert model["sigma2"] == pytest.approx(expected["sigma2"], rel=1e-6)
    assert list(fit["therapist"]) == expected["therapists"]
    np.testing.assert_allclose(fit["effect"], expected["ranef"], rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(fit["effect_se"] ** 2, expected["condvar"], rtol=1e-6)
    np.testing.assert_allclose(fit["estimate"], model["intercept"] + fit["effect"])


def test_logistic_model_matches_glmer():
    expected = FIXTURE["dropout"]
    fit = random_intercepts_binary(CLIENTS, "dropout")
    model = fit.attrs["model"]
    assert model["loglik"] == pytest.approx(expected["loglik"], abs=2e-4)
    assert model["intercept"] == pytest.approx(expected["intercept"], abs=5e-4)
    assert model["intercept_se"] == pytest.approx(expected["intercept_se"], rel=5e-3)
    assert model["tau2"] == pytest.approx(expected["tau2"], abs=5e-4)
    assert list(fit["therapist"]) == expected["therapists"]
    np.testing.assert_allclose(fit["effect"], expected["ranef"], atol=5e-4)
    np.testing.assert_allclose(fit["effect_se"] ** 2, expected["condvar"], atol=5e-4)
    # Estimates are rates: between 0 and 1, inside their intervals.
    assert ((fit["ci_low"] < fit["estimate"]) & (fit["estimate"] < fit["ci_high"])).all()


def test_language_gap_matches_the_reference_implementation():
    expected = FIXTURE["trust_gap_es"]
    gaps = group_gaps(CLIENTS, "trust", "language", "es")
    model = gaps.attrs["model"]
    assert model["clinic_gap"] == pytest.approx(expected["clinic_gap"], rel=1e-6)
    assert model["tau2"] == pytest.approx(expected["tau2"], rel=1e-5, abs=1e-9)
    usable = gaps[gaps["gap"].notna()]
    assert list(usable["therapist"]) == expected["therapists"]
    np.testing.assert_allclose(usable["gap"], expected["gap"], rtol=1e-6)
    half = (usable["ci_high"] - usable["ci_low"]) / 2
    np.testing.assert_allclose(half / 1.959963984540054, expected["se"], rtol=1e-6)


def _clinic(sizes: dict[str, int], seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for therapist, n in sizes.items():
        shift = 1.0 if therapist in ("small", "large") else rng.normal(0, 0.3)
        rows += [(therapist, 5 + shift + rng.normal(0, 0.8)) for _ in range(n)]
    return pd.DataFrame(rows, columns=["therapist", "trust"])


def test_a_small_caseload_is_pulled_to_the_clinic_mean_more_than_a_large_one():
    sizes = {"small": 3, "large": 40} | {f"t{i}": 25 for i in range(12)}
    fit = random_intercepts(_clinic(sizes), "trust").set_index("therapist")
    clinic = fit.attrs["model"]["intercept"]
    small, large = fit.loc["small"], fit.loc["large"]
    assert small["shrinkage"] < large["shrinkage"]
    pulled = {
        name: 1 - (row["estimate"] - clinic) / (row["raw_mean"] - clinic)
        for name, row in (("small", small), ("large", large))
    }
    assert pulled["small"] > 0.3
    assert pulled["large"] < 0.15
    assert (small["ci_high"] - small["ci_low"]) > (large["ci_high"] - large["ci_low"])


def test_no_therapist_variance_puts_everyone_at_the_clinic_mean():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(
        {"therapist": np.repeat(list("abcdefgh"), 20), "trust": np.tile(rng.normal(5, 1, 20), 8)}
    )
    fit = random_intercepts(data, "trust")
    assert fit.attrs["model"]["tau2"] == 0.0
    np.testing.assert_allclose(fit["estimate"], fit.attrs["model"]["intercept"])


def test_gap_is_marked_not_enough_below_ten_clients_in_a_group():
    data = CLIENTS.copy()
    gaps = group_gaps(data, "trust", "language", "es").set_index("therapist")
    few = gaps[(gaps["n_focal"] < 10) | (gaps["n_rest"] < 10)]
    many = gaps[(gaps["n_focal"] >= 10) & (gaps["n_rest"] >= 10)]
    assert len(few) and len(many)
    assert not few["enough"].any()
    assert many["enough"].all()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (pd.DataFrame({"therapist": ["a"] * 5, "trust": [1.0] * 5}), "two therapists"),
        (pd.DataFrame({"therapist": ["a", "b", "c"], "y": [1, 2, 3]}), "not found"),
        (pd.DataFrame({"therapist": ["a", "b", "c"], "trust": ["x", "y", "z"]}), "numeric"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(data, message):
    with pytest.raises(ValueError, match=message):
        random_intercepts(data, "trust")


def test_dropout_must_be_zero_or_one():
    data = pd.DataFrame({"therapist": list("aabbcc"), "dropout": [0, 1, 2, 0, 1, 0]})
    with pytest.raises(ValueError, match="0 or 1"):
        random_intercepts_binary(data, "dropout")
