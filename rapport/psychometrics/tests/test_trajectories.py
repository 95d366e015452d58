"""Tests for rapport.psychometrics.trajectories (expected treatment response).

Truth: simulated episodes whose conditional quantiles are exactly linear in
(1, intake, log s, intake x log s):

    score(s) = intake + (A - B intake) log s + (S0 + S1 log s) z,   z ~ N(0, 1)

with z correlated within an episode (rho = 0.5) but N(0, 1) at every session, so the
tau-quantile curve is intake + (A - B intake) log s + (S0 + S1 log s) Phi^-1(tau).
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, stats
from scipy.optimize import linprog

from rapport.psychometrics.trajectories import (
    SCHEMA_VERSION,
    ExpectedResponseModel,
    _design,
    expected_trajectory,
    fit_expected_response,
    is_off_track,
)

A, B, S0, S1, RHO = 14.0, 0.4, 1.5, 1.2, 0.5


def simulate(n_episodes: int, seed: int, sign: float = 1.0) -> pd.DataFrame:
    """ORS-like episodes (higher is better); sign=-1 mirrors them (lower is better)."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(n_episodes):
        intake = rng.uniform(8, 30)
        n_sess = rng.integers(4, 13)
        shared = rng.normal()
        rows.append((e, 1, sign * intake))
        for s in range(2, n_sess + 1):
            z = np.sqrt(RHO) * shared + np.sqrt(1 - RHO) * rng.normal()
            y = intake + (A - B * intake) * np.log(s) + (S0 + S1 * np.log(s)) * z
            rows.append((e, s, sign * y))
    return pd.DataFrame(rows, columns=["episode", "session", "score"])


def true_quantile(intake: float, s: float, tau: float) -> float:
    return intake + (A - B * intake) * np.log(s) + (S0 + S1 * np.log(s)) * stats.norm.ppf(tau)


@pytest.fixture(scope="module")
def train() -> pd.DataFrame:
    return simulate(400, seed=1)


@pytest.fixture(scope="module")
def model(train: pd.DataFrame) -> ExpectedResponseModel:
    return fit_expected_response(train, fit_date="2025-06-01T12:00:00+00:00")


def test_bands_recover_true_quantiles(model: ExpectedResponseModel) -> None:
    assert model.method == "quantile_regression"
    assert model.n_episodes == 400
    # Sampling error: up to ~1.3 points at the corners (extreme intake, session 12, where
    # few episodes reach); the score SD there is 4.5 and neighbouring percentiles (10/50/90)
    # are 3.6-5.8 points apart, so a wrong percentile or a missing term would fail.
    errors = []
    for intake in (10.0, 18.0, 26.0):
        traj = expected_trajectory(model, intake, [2, 4, 8, 12]).set_index("session")
        for s in (2, 4, 8, 12):
            for col, tau in (("lower", 0.1), ("expected", 0.5), ("upper", 0.9)):
                errors.append(traj.loc[s, col] - true_quantile(intake, s, tau))
    abs_err = np.abs(errors)
    assert abs_err.max() <= 1.5
    assert abs_err.mean() <= 0.5


def test_typical_trajectories_stay_inside(model: ExpectedResponseModel) -> None:
    """Held-out typical clients: about 90% of follow-up scores are not flagged."""
    test = simulate(200, seed=99)
    intake = test.loc[test["session"] == 1].set_index("episode")["score"]
    fu = test[test["session"] > 1]
    flags = is_off_track(
        model,
        fu["episode"].map(intake).to_numpy(),
        fu["session"].to_numpy(),
        fu["score"].to_numpy(),
        higher_is_better=True,
    )
    assert flags.dtype == bool and flags.shape == (len(fu),)
    assert 1 - flags.mean() >= 0.80
    assert 0.06 <= flags.mean() <= 0.14  # calibrated one-sided 10% band


def test_planted_not_on_track_is_flagged(model: ExpectedResponseModel) -> None:
    # intake 15, expected median ~ 15 + 8 log s; this client gets steadily worse.
    sessions = np.arange(2, 9)
    scores = 15 - 0.8 * (sessions - 1)
    flags = is_off_track(model, 15.0, sessions, scores, higher_is_better=True)
    assert flags.all()
    # the same client improving as expected is on track at every session
    typical = np.array([true_quantile(15, s, 0.5) for s in sessions])
    assert not is_off_track(model, 15.0, sessions, typical, higher_is_better=True).any()
    assert is_off_track(model, 15.0, 1, 3.0, higher_is_better=True) is False  # intake


def test_lower_is_better_uses_upper_band() -> None:
    train = simulate(200, seed=5, sign=-1.0)  # mirrored: lower is better
    m = fit_expected_response(train)
    s = np.arange(2, 9)
    worsening = -15 + 0.8 * (s - 1)
    assert is_off_track(m, -15.0, s, worsening, higher_is_better=False).all()
    # a mirrored client who improves a lot is not flagged for the "wrong" side
    assert not is_off_track(m, -15.0, s, worsening - 30, higher_is_better=False).any()
    assert is_off_track(m, -15.0, s, worsening - 30, higher_is_better=True).all()


def test_quantreg_reaches_exact_lp_optimum(
    train: pd.DataFrame, model: ExpectedResponseModel
) -> None:
    """The IRLS fit attains the exact linear-programming optimum of the check loss."""
    intake = train.loc[train["session"] == 1].set_index("episode")["score"]
    fu = train[train["session"] > 1]
    x = _design(fu["episode"].map(intake).to_numpy(), fu["session"].to_numpy(float))
    y = fu["score"].to_numpy()
    n, p = x.shape
    for band, tau in model.levels.items():
        # min tau 1'u+ + (1 - tau) 1'u-  s.t.  X b + u+ - u- = y
        c = np.concatenate([np.zeros(p), np.full(n, tau), np.full(n, 1 - tau)])
        eye = sparse.identity(n, format="csr")
        a_eq = sparse.hstack([sparse.csr_matrix(x), eye, -eye], format="csr")
        bounds = [(None, None)] * p + [(0, None)] * (2 * n)
        lp = linprog(c, A_eq=a_eq, b_eq=y, bounds=bounds, method="highs")
        assert lp.status == 0
        coef = np.array(list(model.coefficients[band].values()))
        r = y - x @ coef
        loss = np.sum(r * (tau - (r < 0)))
        assert loss == pytest.approx(lp.fun, rel=1e-7)


def test_serialisation_round_trip(model: ExpectedResponseModel) -> None:
    d = model.to_dict()
    assert d["schema_version"] == SCHEMA_VERSION
    assert d["fit_date"] == "2025-06-01T12:00:00+00:00"
    assert d["n_episodes"] == 400 and d["n_observations"] > 400
    assert set(d["software"]) >= {"statsmodels", "numpy"}
    again = ExpectedResponseModel.from_dict(json.loads(json.dumps(d)))
    assert again == model
    a = expected_trajectory(model, 17.3, 12)
    b = expected_trajectory(again, 17.3, 12)
    pd.testing.assert_frame_equal(a, b)


def test_from_dict_rejects_bad_input(model: ExpectedResponseModel) -> None:
    d = model.to_dict()
    with pytest.raises(ValueError, match="schema_version"):
        ExpectedResponseModel.from_dict({**d, "schema_version": 99})
    with pytest.raises(ValueError, match="not a serialised"):
        ExpectedResponseModel.from_dict({"schema": "other"})
    broken = json.loads(json.dumps(d))
    del broken["coefficients"]["lower"]["intake"]
    with pytest.raises(ValueError, match="invalid"):
        ExpectedResponseModel.from_dict(broken)
    with pytest.raises(ValueError, match="unknown method"):
        ExpectedResponseModel.from_dict({**d, "method": "magic"})
    with pytest.raises(ValueError, match="needs rci"):
        ExpectedResponseModel.from_dict({**d, "method": "reliable_change", "coefficients": {}})


def test_fallback_with_too_few_episodes() -> None:
    small = simulate(30, seed=3)
    with pytest.raises(ValueError, match="only 30 usable episodes"):
        fit_expected_response(small)
    m = fit_expected_response(small, rci=5.0, score_range=(0, 40))
    assert m.method == "reliable_change" and m.coefficients == {}
    traj = expected_trajectory(m, 38.0, 3)
    assert traj["expected"].tolist() == [38.0, 38.0, 38.0]
    assert traj["lower"].tolist() == [38.0, 33.0, 33.0]
    assert traj["upper"].tolist() == [38.0, 40.0, 40.0]  # clipped to the score range
    # ORS: a drop of exactly 5 (the published RCI) is reliable deterioration
    assert is_off_track(m, 20.0, 4, 15.0, higher_is_better=True) is True
    assert is_off_track(m, 20.0, 4, 15.5, higher_is_better=True) is False
    assert is_off_track(m, 20.0, 4, 10.0, higher_is_better=False) is False
    assert ExpectedResponseModel.from_dict(m.to_dict()) == m


def test_bands_never_cross_and_extrapolation_is_marked(model: ExpectedResponseModel) -> None:
    coeffs = {
        "lower": {"const": 0.0, "intake": 1.0, "log_session": 5.0, "intake_x_log_session": 0.0},
        "median": {"const": 0.0, "intake": 1.0, "log_session": 2.0, "intake_x_log_session": 0.0},
        "upper": {"const": 0.0, "intake": 1.0, "log_session": 1.0, "intake_x_log_session": 0.0},
    }
    crossing = ExpectedResponseModel.from_dict({**model.to_dict(), "coefficients": coeffs})
    traj = expected_trajectory(crossing, 10.0, 6)
    assert (traj["lower"] <= traj["expected"]).all() and (traj["expected"] <= traj["upper"]).all()
    far = expected_trajectory(model, 100.0, [1, 2])
    assert far["extrapolated"].tolist() == [False, True]
    later = expected_trajectory(model, 15.0, [model.max_session, model.max_session + 5])
    assert later["extrapolated"].tolist() == [False, True]
    assert later["lower"].iloc[0] == later["lower"].iloc[1]  # carried forward


def test_excluded_episodes_and_missing_scores() -> None:
    d = simulate(120, seed=8)
    d.loc[(d["episode"] < 5) & (d["session"] == 1), "score"] = np.nan  # no intake
    d = d[~((d["episode"] >= 5) & (d["episode"] < 8) & (d["session"] > 1))]  # no follow-up
    m = fit_expected_response(d)
    assert m.n_episodes == 112 and m.n_excluded == 8


def test_input_errors(train: pd.DataFrame, model: ExpectedResponseModel) -> None:
    with pytest.raises(ValueError, match="duplicated"):
        fit_expected_response(pd.concat([train, train.head(1)]))
    with pytest.raises(ValueError, match="integers >= 1"):
        fit_expected_response(train.assign(session=train["session"] - 1))
    with pytest.raises(ValueError, match="band"):
        fit_expected_response(train, band=(0.6, 0.9))
    with pytest.raises(ValueError, match="episode column"):
        fit_expected_response(train, episode="client")
    with pytest.raises(ValueError, match="not numeric"):
        fit_expected_response(train.assign(score="x"))
    with pytest.raises(ValueError, match="rci"):
        fit_expected_response(train, rci=-1)
    with pytest.raises(ValueError, match="score_range"):
        fit_expected_response(train, score_range=(40, 0))
    with pytest.raises(ValueError, match="session"):
        is_off_track(model, 15, 0, 10, higher_is_better=True)
    with pytest.raises(ValueError, match="higher_is_better"):
        is_off_track(model, 15, 3, 10, higher_is_better="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite"):
        is_off_track(model, 15, 3, np.nan, higher_is_better=True)
    with pytest.raises(ValueError, match="sessions"):
        expected_trajectory(model, 15, [0, 1])
    with pytest.raises(ValueError, match="model"):
        expected_trajectory({}, 15, 3)  # type: ignore[arg-type]
