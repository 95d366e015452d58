"""Expected treatment response (ETR): a clinic's own percentile bands for the not-on-track flag.

The expected trajectory of a client, given the intake score, is estimated from the
clinic's completed episodes by **quantile regression** of the score on log(session
number) and the intake score, with their interaction, at a lower, median and upper
percentile.  With too few episodes a documented **reliable-change fallback** is used.
The fitted model is a small, JSON-serialisable object so that every flag can be
reproduced later from the stored parameters.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels
from statsmodels.regression.quantile_regression import QuantReg

from rapport.psychometrics._validation import check_dataframe, check_positive_int

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "ExpectedResponseModel",
    "expected_trajectory",
    "fit_expected_response",
    "is_off_track",
]

SCHEMA = "rapport.psychometrics.expected_response"
SCHEMA_VERSION = 1
TERMS = ("const", "intake", "log_session", "intake_x_log_session")
_BANDS = ("lower", "median", "upper")
_METHODS = ("quantile_regression", "reliable_change")


@dataclass(frozen=True)
class ExpectedResponseModel:
    """A fitted expected-treatment-response model (immutable, serialisable).

    Attributes
    ----------
    method : {"quantile_regression", "reliable_change"}
        How the band was obtained (see :func:`fit_expected_response`).
    levels : dict
        Percentiles of the band, ``{"lower": 0.1, "median": 0.5, "upper": 0.9}``.
    coefficients : dict
        For quantile regression, per band the coefficients of ``TERMS``; empty for the
        reliable-change fallback.
    rci : float or None
        Reliable-change points (fallback band half-width), if given.
    n_episodes, n_observations, n_excluded : int
        Episodes and follow-up observations fitted; episodes left out (no intake score
        or no follow-up).
    max_session : int or None
        Largest session number in the fitted data; later sessions reuse it.
    intake_range : (float, float) or None
        Intake scores seen in the fitted data (predictions outside are extrapolations).
    score_range : (float, float) or None
        Possible range of the instrument; bands are clipped to it.
    fit_date : str
        ISO 8601 date-time of the fit (UTC).
    software : dict
        Versions (schema, statsmodels, numpy) used for the fit.
    """

    method: str
    levels: dict[str, float]
    coefficients: dict[str, dict[str, float]]
    rci: float | None
    n_episodes: int
    n_observations: int
    n_excluded: int
    max_session: int | None
    intake_range: tuple[float, float] | None
    score_range: tuple[float, float] | None
    fit_date: str
    software: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (floats at full precision); inverse of :meth:`from_dict`.

        Examples
        --------
        >>> import json
        >>> model = ExpectedResponseModel(
        ...     method="reliable_change", levels={"lower": 0.1, "median": 0.5, "upper": 0.9},
        ...     coefficients={}, rci=5.0, n_episodes=12, n_observations=80, n_excluded=0,
        ...     max_session=10, intake_range=(8.0, 30.0), score_range=(0.0, 40.0),
        ...     fit_date="2025-01-01T00:00:00+00:00")
        >>> stored = json.dumps(model.to_dict())
        >>> ExpectedResponseModel.from_dict(json.loads(stored)) == model
        True
        """
        return {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "method": self.method,
            "levels": dict(self.levels),
            "coefficients": {k: dict(v) for k, v in self.coefficients.items()},
            "rci": self.rci,
            "n_episodes": self.n_episodes,
            "n_observations": self.n_observations,
            "n_excluded": self.n_excluded,
            "max_session": self.max_session,
            "intake_range": list(self.intake_range) if self.intake_range else None,
            "score_range": list(self.score_range) if self.score_range else None,
            "fit_date": self.fit_date,
            "software": dict(self.software),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ExpectedResponseModel:
        """Rebuild a model from :meth:`to_dict` output; ``ValueError`` if it is not valid."""
        if not isinstance(d, Mapping) or d.get("schema") != SCHEMA:
            raise ValueError(f"not a serialised expected-response model (schema {SCHEMA!r})")
        if d.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(
                f"unsupported schema_version {d.get('schema_version')!r}; "
                f"this version reads {SCHEMA_VERSION}"
            )
        try:
            method = d["method"]
            if method not in _METHODS:
                raise ValueError(f"unknown method {method!r}")
            coefficients = {
                band: {t: float(d["coefficients"][band][t]) for t in TERMS}
                for band in d["coefficients"]
            }
            if method == "quantile_regression" and set(coefficients) != set(_BANDS):
                raise ValueError("coefficients must have lower, median and upper bands")
            model = cls(
                method=method,
                levels={k: float(d["levels"][k]) for k in _BANDS},
                coefficients=coefficients,
                rci=None if d["rci"] is None else float(d["rci"]),
                n_episodes=int(d["n_episodes"]),
                n_observations=int(d["n_observations"]),
                n_excluded=int(d["n_excluded"]),
                max_session=None if d["max_session"] is None else int(d["max_session"]),
                intake_range=_pair(d["intake_range"]),
                score_range=_pair(d["score_range"]),
                fit_date=str(d["fit_date"]),
                software={str(k): str(v) for k, v in d.get("software", {}).items()},
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"invalid expected-response model: missing or bad {exc}") from None
        if method == "reliable_change" and model.rci is None:
            raise ValueError("a reliable_change model needs rci")
        return model


def _pair(v: Any) -> tuple[float, float] | None:
    if v is None:
        return None
    lo, hi = v
    return float(lo), float(hi)


def _software() -> dict[str, str]:
    return {
        "schema_version": str(SCHEMA_VERSION),
        "statsmodels": statsmodels.__version__,
        "numpy": np.__version__,
    }


def fit_expected_response(
    data: pd.DataFrame,
    *,
    episode: str = "episode",
    session: str = "session",
    score: str = "score",
    band: tuple[float, float] = (0.10, 0.90),
    min_episodes: int = 100,
    rci: float | None = None,
    score_range: tuple[float, float] | None = None,
    fit_date: str | None = None,
) -> ExpectedResponseModel:
    r"""Fit expected trajectories and percentile bands from a clinic's completed episodes.

    For follow-up sessions s >= 2 of every episode with intake score I (the score at
    session 1), one linear quantile regression per percentile tau in
    ``(band[0], 0.5, band[1])``::

        Q_tau(score | I, s) = b0 + b1 I + b2 log(s) + b3 I log(s)

    (Koenker & Bassett 1978; statsmodels ``QuantReg``, iteratively reweighted least
    squares with ``p_tol=1e-10``).  The log-session form follows Finch, Lambert &
    Schaalje (2001); the interaction lets the speed of change depend on intake severity.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format, one row per episode x session, **completed episodes only**.
    episode, session, score : str
        Column names: episode id, 1-based session number (session 1 = intake), score.
    band : (float, float), default (0.10, 0.90)
        Lower and upper percentiles of the band.  The percentile used for the flag is a
        clinic decision (published systems do not document theirs): one-sided 10% flags
        about 1 session in 10 of a typical client.
    min_episodes : int, default 100
        Fewer usable episodes (with an intake and at least one follow-up) trigger the
        fallback.  A judgement call: a 10th-percentile curve with 4 coefficients needs
        some tens of observations below it at every intake level, i.e. several hundred
        follow-up scores, which ~100 episodes of a few sessions each provide.
    rci : float, optional
        The instrument's published reliable-change threshold in points (e.g. ORS 5,
        PHQ-9 6).  Required for the fallback; stored in the model either way.
    score_range : (float, float), optional
        Possible score range of the instrument (e.g. (0, 40)); bands are clipped to it.
    fit_date : str, optional
        Timestamp to record (default: now, UTC, ISO 8601).

    Returns
    -------
    ExpectedResponseModel

    Raises
    ------
    ValueError
        Missing columns, non-numeric values, sessions < 1 or duplicated episode x session
        rows, a bad band, or too little data and no ``rci`` for the fallback.

    Notes
    -----
    **Why quantile regression (default) and not a mixed-effects growth model.** The
    not-on-track flag needs a *percentile band*; quantile regression estimates that band
    directly, without assuming normal random effects and residuals or constant spread
    (scores of bounded instruments like the ORS are skewed near the ceiling and spread
    differently by intake), is robust to outlying scores, and leaves 12 numbers that are
    easy to store and explain ("9 in 10 clients who started where you did scored above
    this line by session 4").  A multilevel model (Finch et al. 2001; statsmodels
    ``mixedlm``) needs a variance decomposition and a choice between prediction and
    tolerance intervals for the same purpose.  Observations are clustered in episodes:
    that does not bias the quantile curves (they describe all session scores at a given
    intake and session) but would matter for standard errors, which are not used.

    **Details.** Rows with a missing score are ignored (no observation).  Episodes
    without a session-1 score or without a follow-up are left out (``n_excluded``).
    The three curves are fitted separately; at prediction time they are sorted
    (rearrangement, Chernozhukov, Fernández-Val & Galichon 2010) so they never cross.

    **Fallback** (fewer than ``min_episodes`` usable episodes): ``method =
    "reliable_change"``: expected = intake (no change assumed), band = intake ± rci.
    The flag then means *reliable deterioration* (worse than intake by at least the
    published RCI), the "rational" rule of OQ-Analyst-type systems.  It is more lenient
    than an empirical ETR (a client who does not improve is not flagged) and should be
    replaced by the empirical model as soon as the clinic has enough episodes.

    References
    ----------
    Koenker, R., & Bassett, G. (1978). Regression quantiles. *Econometrica*, 46, 33-50.

    Finch, A. E., Lambert, M. J., & Schaalje, B. G. (2001). Psychotherapy quality control:
    the statistical generation of expected recovery curves for integration into an early
    warning system. *Clin Psychol Psychother*, 8, 231-242.

    Chernozhukov, V., Fernández-Val, I., & Galichon, A. (2010). Quantile and probability
    curves without crossing. *Econometrica*, 78, 1093-1125.

    Lambert, M. J., et al. (2003). Is it time for clinicians to routinely track patient
    outcome? A meta-analysis. *Clin Psychol Sci Pract*, 10, 288-301.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from rapport.psychometrics.trajectories import (
    ...     expected_trajectory, fit_expected_response, is_off_track)
    >>> rng = np.random.default_rng(0)
    >>> rows = []
    >>> for e in range(150):
    ...     intake = rng.uniform(10, 30)
    ...     for s in range(1, 9):
    ...         gain = 0.0 if s == 1 else (14 - 0.4 * intake) * np.log(s) + rng.normal(0, 3)
    ...         rows.append((e, s, intake + gain))
    >>> data = pd.DataFrame(rows, columns=["episode", "session", "score"])
    >>> model = fit_expected_response(data, fit_date="2025-01-01T00:00:00+00:00")
    >>> model.method, model.n_episodes
    ('quantile_regression', 150)
    >>> expected_trajectory(model, intake=15, sessions=[1, 4, 8]).round(1)
       session  expected  lower  upper  extrapolated
    0        1      15.0   15.0   15.0         False
    1        4      25.9   22.1   29.9         False
    2        8      31.7   27.8   35.8         False
    >>> # truth at session 4: median 15 + 8 log 4 = 26.1, 10th percentile 26.1 - 3.8 = 22.3
    >>> is_off_track(model, intake=15, session=4, score=16, higher_is_better=True)
    True
    >>> is_off_track(model, intake=15, session=4, score=25, higher_is_better=True)
    False
    """
    lo_q, hi_q = (float(b) for b in band)
    if not 0.0 < lo_q < 0.5 < hi_q < 1.0:
        raise ValueError(f"band must satisfy 0 < lower < 0.5 < upper < 1; got {band!r}")
    check_positive_int(min_episodes, "min_episodes", minimum=1)
    if rci is not None and not (math.isfinite(float(rci)) and float(rci) > 0):
        raise ValueError(f"rci must be a positive number; got {rci!r}")
    if score_range is not None:
        score_range = (float(score_range[0]), float(score_range[1]))
        if not score_range[0] < score_range[1]:
            raise ValueError(f"score_range must be (low, high) with low < high; got {score_range}")
    num = check_dataframe(data, [session, score], numeric=True, min_rows=1)
    if episode not in data.columns:
        raise ValueError(f"data: episode column {episode!r} not found")
    df = pd.DataFrame({"episode": data[episode], "session": num[session], "score": num[score]})
    if df["episode"].isna().any() or df["session"].isna().any():
        raise ValueError("data: missing episode ids or session numbers")
    sess = df["session"].to_numpy(dtype=float)
    if (sess < 1).any() or not np.all(sess == np.round(sess)):
        raise ValueError("data: session numbers must be integers >= 1 (1 = intake)")
    if df.duplicated(["episode", "session"]).any():
        raise ValueError("data: duplicated episode x session rows")
    df = df.dropna(subset=["score"])
    intake = df.loc[df["session"] == 1].set_index("episode")["score"]
    follow = df.loc[(df["session"] >= 2) & df["episode"].isin(intake.index)].copy()
    follow["intake"] = follow["episode"].map(intake)
    n_usable = int(follow["episode"].nunique())
    n_excluded = int(data[episode].nunique()) - n_usable
    levels = {"lower": lo_q, "median": 0.5, "upper": hi_q}
    date = fit_date or _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    if n_usable < min_episodes:
        if rci is None:
            raise ValueError(
                f"only {n_usable} usable episodes (min_episodes={min_episodes}); "
                "give the instrument's published reliable-change points (rci) for the fallback"
            )
        return ExpectedResponseModel(
            method="reliable_change",
            levels=levels,
            coefficients={},
            rci=float(rci),
            n_episodes=n_usable,
            n_observations=len(follow),
            n_excluded=n_excluded,
            max_session=int(follow["session"].max()) if len(follow) else None,
            intake_range=_range(intake) if len(intake) else None,
            score_range=score_range,
            fit_date=date,
            software=_software(),
        )
    x = _design(follow["intake"].to_numpy(float), follow["session"].to_numpy(float))
    y = follow["score"].to_numpy(float)
    coefficients = {}
    for name, q in levels.items():
        res = QuantReg(y, x).fit(q=q, p_tol=1e-10, max_iter=5000)
        coefficients[name] = dict(zip(TERMS, map(float, res.params), strict=True))
    used_intake = follow.groupby("episode")["intake"].first()
    return ExpectedResponseModel(
        method="quantile_regression",
        levels=levels,
        coefficients=coefficients,
        rci=None if rci is None else float(rci),
        n_episodes=n_usable,
        n_observations=len(follow),
        n_excluded=n_excluded,
        max_session=int(follow["session"].max()),
        intake_range=_range(used_intake),
        score_range=score_range,
        fit_date=date,
        software=_software(),
    )


def _range(s: pd.Series) -> tuple[float, float]:
    return float(s.min()), float(s.max())


def _design(intake: np.ndarray, session: np.ndarray) -> np.ndarray:
    logs = np.log(session)
    return np.column_stack((np.ones_like(intake), intake, logs, intake * logs))


def _bands(
    model: ExpectedResponseModel, intake: np.ndarray, session: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, expected, upper) arrays; session 1 gives the intake itself."""
    if model.method == "reliable_change":
        rci = float(model.rci)  # type: ignore[arg-type]
        lower, mid, upper = intake - rci, intake.copy(), intake + rci
    else:
        s = session if model.max_session is None else np.minimum(session, model.max_session)
        x = _design(intake, s)
        curves = np.vstack(
            [x @ np.array([model.coefficients[b][t] for t in TERMS]) for b in _BANDS]
        )
        lower, mid, upper = np.sort(curves, axis=0)  # rearrangement: no crossing
    if model.score_range is not None:
        lo_s, hi_s = model.score_range
        lower, mid, upper = (np.clip(v, lo_s, hi_s) for v in (lower, mid, upper))
    at_intake = session == 1
    lower, mid, upper = (np.where(at_intake, intake, v) for v in (lower, mid, upper))
    return lower, mid, upper


def expected_trajectory(
    model: ExpectedResponseModel, intake: float, sessions: Iterable[int] | int = 12
) -> pd.DataFrame:
    """Expected score and band by session for a client with the given intake score.

    Parameters
    ----------
    model : ExpectedResponseModel
    intake : float
        The client's session-1 score.
    sessions : int or iterable of int, default 12
        Session numbers, or ``n`` for sessions 1..n.

    Returns
    -------
    pandas.DataFrame
        ``session``, ``expected`` (median curve; intake for the fallback), ``lower``,
        ``upper`` (band), ``extrapolated`` (True if the intake is outside the fitted
        intake range or the session beyond the last fitted session, whose curve is
        then carried forward).

    Examples
    --------
    >>> from rapport.psychometrics.trajectories import ExpectedResponseModel
    >>> fallback = ExpectedResponseModel(
    ...     method="reliable_change", levels={"lower": 0.1, "median": 0.5, "upper": 0.9},
    ...     coefficients={}, rci=5.0, n_episodes=12, n_observations=80, n_excluded=0,
    ...     max_session=10, intake_range=(8.0, 30.0), score_range=(0.0, 40.0),
    ...     fit_date="2025-01-01T00:00:00+00:00")
    >>> expected_trajectory(fallback, 20, [1, 2, 3])
       session  expected  lower  upper  extrapolated
    0        1      20.0   20.0   20.0         False
    1        2      20.0   15.0   25.0         False
    2        3      20.0   15.0   25.0         False
    """
    if not isinstance(model, ExpectedResponseModel):
        raise ValueError("model must be an ExpectedResponseModel")
    sess = np.arange(1, sessions + 1) if isinstance(sessions, int) else np.asarray(list(sessions))
    if sess.size == 0 or (sess < 1).any() or not np.all(sess == np.round(sess)):
        raise ValueError("sessions must be integers >= 1")
    intake_f = float(intake)
    if not math.isfinite(intake_f):
        raise ValueError(f"intake must be a finite number; got {intake!r}")
    intakes = np.full(sess.shape, intake_f)
    lower, mid, upper = _bands(model, intakes, sess.astype(float))
    outside = False
    if model.intake_range is not None:
        outside = not model.intake_range[0] <= intake_f <= model.intake_range[1]
    beyond = (
        sess > model.max_session if model.max_session is not None else np.zeros(sess.shape, bool)
    )
    return pd.DataFrame(
        {
            "session": sess.astype(int),
            "expected": mid,
            "lower": lower,
            "upper": upper,
            "extrapolated": (beyond | outside) & (sess > 1),
        }
    )


def is_off_track(
    model: ExpectedResponseModel,
    intake: Any,
    session: Any,
    score: Any,
    higher_is_better: bool,
) -> Any:
    """Not-on-track flag: is the score outside the band on the unfavourable side?

    * ``higher_is_better=True`` (e.g. ORS): off track if ``score < lower``.
    * ``higher_is_better=False`` (e.g. OQ-45, PHQ-9): off track if ``score > upper``.

    For the reliable-change fallback the boundary itself counts as off track
    (``score <= intake - rci`` or ``score >= intake + rci``), because published
    reliable-change thresholds are stated as "a change of *at least* RCI points".  The
    intake session (session 1) is never off track.

    Scalars give a ``bool``; array-likes (broadcast together) give a boolean array.

    Examples
    --------
    >>> from rapport.psychometrics.trajectories import ExpectedResponseModel
    >>> m = ExpectedResponseModel(
    ...     method="reliable_change", levels={"lower": 0.1, "median": 0.5, "upper": 0.9},
    ...     coefficients={}, rci=6.0, n_episodes=0, n_observations=0, n_excluded=0,
    ...     max_session=None, intake_range=None, score_range=(0.0, 27.0),
    ...     fit_date="2025-01-01T00:00:00+00:00")
    >>> is_off_track(m, intake=14, session=3, score=20, higher_is_better=False)  # PHQ-9 +6
    True
    >>> is_off_track(m, intake=14, session=3, score=[19, 20, 9], higher_is_better=False)
    array([False,  True, False])
    """
    if not isinstance(model, ExpectedResponseModel):
        raise ValueError("model must be an ExpectedResponseModel")
    if not isinstance(higher_is_better, bool | np.bool_):
        raise ValueError("higher_is_better must be True or False")
    scalar = all(np.ndim(v) == 0 for v in (intake, session, score))
    try:
        i, s, y = np.broadcast_arrays(
            np.asarray(intake, dtype=float),
            np.asarray(session, dtype=float),
            np.asarray(score, dtype=float),
        )
    except ValueError:
        raise ValueError("intake, session and score must have compatible shapes") from None
    if (s < 1).any() or not np.all(s == np.round(s)):
        raise ValueError("session must be an integer >= 1")
    if not (np.isfinite(i).all() and np.isfinite(y).all()):
        raise ValueError("intake and score must be finite numbers")
    lower, _, upper = _bands(model, i.ravel(), s.ravel())
    lower, upper = lower.reshape(i.shape), upper.reshape(i.shape)
    inclusive = model.method == "reliable_change"
    if higher_is_better:
        off = y <= lower if inclusive else y < lower
    else:
        off = y >= upper if inclusive else y > upper
    off = off & (s > 1)
    return bool(off) if scalar else off
