"""Therapist effects: random-intercept models with shrinkage towards the clinic mean.

A therapist's clients are a small, noisy sample: a therapist with three clients whose
trust happens to be high should not appear to be the clinic's best.  Random-intercept
models (therapist as a random effect; Goldstein 2011, ch. 2; Baldwin & Imel 2013) give
each therapist a *shrunken* estimate -- the best linear unbiased predictor (BLUP) for a
continuous outcome, the conditional mode for a binary one -- which moves a small caseload
most of the way to the clinic mean and leaves a large one close to its own mean.

Continuous outcomes (trust, alliance, openness, outcome change)::

    y_ij = mu + u_j + e_ij,   u_j ~ N(0, tau^2),   e_ij ~ N(0, sigma^2)

fitted by REML exactly as ``lme4::lmer(y ~ 1 + (1 | therapist))``.  With
``lambda = tau^2 / sigma^2`` and per-therapist ``n_j``, mean ``ybar_j``:
``w_j = n_j / (1 + n_j lambda)``, ``mu(lambda) = sum w_j ybar_j / sum w_j``, and the
profiled REML criterion ``(N - 1) log(Q / (N - 1)) + sum log(1 + n_j lambda) + log sum w_j``
with ``Q = SS_within + sum w_j (ybar_j - mu)^2`` is minimised over ``lambda >= 0``.
The BLUP is ``u_j = k_j (ybar_j - mu)`` with shrinkage factor
``k_j = n_j tau^2 / (n_j tau^2 + sigma^2)``; its conditional variance (lme4's
``condVar``) is ``tau^2 (1 - k_j)``.

Binary outcome (dropout)::

    logit P(y_ij = 1) = beta + u_j,   u_j ~ N(0, tau^2)

fitted by the Laplace approximation, as ``lme4::glmer(y ~ 1 + (1 | therapist),
family = binomial)`` with its default ``nAGQ = 1``: with ``u_j = tau b_j``, each
therapist's integral over ``b_j`` is replaced by its Laplace approximation at the
conditional mode, and the approximate log-likelihood is maximised over ``(beta, tau)``.

The within-therapist gap between client groups (e.g. one language against the rest) is
shrunk the same way (see :func:`group_gaps`).

References
----------
Baldwin, S. A., & Imel, Z. E. (2013). Therapist effects: Findings and methods. In M. J.
Lambert (Ed.), *Bergin and Garfield's handbook of psychotherapy and behavior change*
(6th ed., pp. 258-297). Wiley.
Bates, D., Maechler, M., Bolker, B., & Walker, S. (2015). Fitting linear mixed-effects
models using lme4. *Journal of Statistical Software, 67*(1), 1-48.
Goldstein, H. (2011). *Multilevel statistical models* (4th ed.). Wiley.
Raudenbush, S. W., & Bryk, A. S. (2002). *Hierarchical linear models* (2nd ed.). Sage.

Examples
--------
>>> import pandas as pd
>>> data = pd.DataFrame({"therapist": list("aaabbbbbbcc"),
...                      "trust": [6, 7, 6, 5, 5, 6, 4, 5, 5, 7, 6]})
>>> profile = random_intercepts(data, "trust")
>>> profile["raw_mean"].round(2).tolist(), profile["estimate"].round(2).tolist()
([6.33, 5.0, 6.5], [6.26, 5.09, 6.35])
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from rapport.psychometrics._validation import check_dataframe, check_probability

__all__ = ["group_gaps", "random_intercepts", "random_intercepts_binary"]

#: Fewest clients in *each* group within a therapist before a group gap is shown.
MIN_CLIENTS_PER_GROUP = 10

#: The columns of :func:`random_intercepts` and :func:`random_intercepts_binary`.
COLUMNS = (
    "therapist", "n", "raw_mean", "shrinkage", "effect", "effect_se", "estimate",
    "ci_low", "ci_high",
)  # fmt: skip

# Upper bound for lambda = tau^2 / sigma^2 (the optimum is never near it in practice:
# a therapist variance 10^4 times the client variance).
_MAX_LOG_LAMBDA = np.log(1e4)


def _clean(data: pd.DataFrame, outcome: str, cluster: str) -> pd.DataFrame:
    if not isinstance(outcome, str) or not isinstance(cluster, str):
        raise ValueError("outcome and cluster must be column names")
    check_dataframe(data, [outcome], min_rows=1)
    check_dataframe(data, [cluster], numeric=False, min_rows=1)
    clean = data[[cluster, outcome]].dropna()
    if clean[cluster].nunique() < 2:
        raise ValueError(f"{outcome}: at least two therapists with answers are needed")
    if len(clean) < 3:
        raise ValueError(f"{outcome}: at least three answers are needed")
    return clean


def _cluster_sums(clean: pd.DataFrame, outcome: str, cluster: str) -> pd.DataFrame:
    grouped = clean.groupby(cluster, sort=True)[outcome]
    sums = pd.DataFrame({"n": grouped.size(), "mean": grouped.mean()})
    sums["ss"] = grouped.var(ddof=0).fillna(0.0) * sums["n"]
    return sums


def _reml_criterion(log_lambda: float, n: np.ndarray, ybar: np.ndarray, ssw: float) -> float:
    lam = np.exp(log_lambda)
    w = n / (1.0 + n * lam)
    mu = np.sum(w * ybar) / np.sum(w)
    q = ssw + np.sum(w * (ybar - mu) ** 2)
    dof = n.sum() - 1
    return float(dof * np.log(q / dof) + np.sum(np.log1p(n * lam)) + np.log(np.sum(w)))


def _fit_lmm(n: np.ndarray, ybar: np.ndarray, ssw: float) -> tuple[float, float, float, float]:
    """REML ``(mu, var(mu), tau^2, sigma^2)`` of the random-intercept model."""
    at_zero = _reml_criterion(-60.0, n, ybar, ssw)
    best = optimize.minimize_scalar(
        _reml_criterion,
        bounds=(-30.0, _MAX_LOG_LAMBDA),
        args=(n, ybar, ssw),
        method="bounded",
        options={"xatol": 1e-10},
    )
    lam = float(np.exp(best.x)) if best.fun < at_zero else 0.0
    w = n / (1.0 + n * lam)
    mu = float(np.sum(w * ybar) / np.sum(w))
    q = ssw + float(np.sum(w * (ybar - mu) ** 2))
    sigma2 = q / (n.sum() - 1)
    return mu, sigma2 / float(np.sum(w)), lam * sigma2, sigma2


def _result(
    sums: pd.DataFrame,
    cluster: str,
    *,
    effect: np.ndarray,
    effect_var: np.ndarray,
    shrinkage: np.ndarray,
    estimate_var: np.ndarray,
    centre: float,
    level: float,
    back: Any,
    model: dict[str, Any],
) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + level / 2)
    linear = centre + effect
    half = z * np.sqrt(estimate_var)
    out = pd.DataFrame(
        {
            "therapist": sums.index.to_numpy(),
            "n": sums["n"].to_numpy(dtype=int),
            "raw_mean": sums["mean"].to_numpy(dtype=float),
            "shrinkage": shrinkage,
            "effect": effect,
            "effect_se": np.sqrt(effect_var),
            "estimate": back(linear),
            "ci_low": back(linear - half),
            "ci_high": back(linear + half),
        },
        columns=list(COLUMNS),
    ).rename(columns={"therapist": cluster})
    model["clinic_ci"] = (float(back(centre - z * model["intercept_se"])),)
    model["clinic_ci"] += (float(back(centre + z * model["intercept_se"])),)
    model["clinic_estimate"] = float(back(centre))
    model["level"] = level
    out.attrs["model"] = model
    return out


def random_intercepts(
    data: pd.DataFrame, outcome: str, cluster: str = "therapist", *, level: float = 0.95
) -> pd.DataFrame:
    """Shrunken therapist means of a continuous outcome (REML, as ``lme4::lmer``).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per client (episode): ``outcome`` (numeric; missing rows are dropped) and
        ``cluster`` (the therapist).
    outcome, cluster : str
        Column names.
    level : float, default 0.95
        Confidence level of the intervals.

    Returns
    -------
    pandas.DataFrame
        One row per therapist (sorted): ``n`` clients, ``raw_mean``, ``shrinkage``
        (``k_j``, 0 = all the way to the clinic mean, 1 = the therapist's own mean),
        ``effect`` (the BLUP ``u_j``, the distance from the clinic mean) with
        ``effect_se`` (lme4's conditional standard deviation), and ``estimate``
        (``mu + u_j``) with its interval ``ci_low, ci_high`` from the prediction-error
        variance ``tau^2 (1 - k_j) + (1 - k_j)^2 var(mu)`` (Henderson 1975), which also
        carries the uncertainty in the clinic mean.  ``attrs["model"]`` holds
        ``intercept`` (the clinic mean ``mu``), ``intercept_se``, ``tau2``, ``sigma2``,
        ``icc``, ``clinic_estimate``, ``clinic_ci``, ``n_clients``, ``n_therapists``.

    Raises
    ------
    ValueError
        Missing or non-numeric column, fewer than two therapists or three answers.

    Examples
    --------
    >>> data = pd.DataFrame({"therapist": [1, 1, 2, 2, 2, 3], "y": [1, 2, 3, 4, 5, 2.0]})
    >>> round(random_intercepts(data, "y").attrs["model"]["intercept"], 3)
    2.567
    """
    level = check_probability(level, name="level")
    clean = _clean(data, outcome, cluster)
    sums = _cluster_sums(clean, outcome, cluster)
    n = sums["n"].to_numpy(dtype=float)
    ybar = sums["mean"].to_numpy(dtype=float)
    mu, var_mu, tau2, sigma2 = _fit_lmm(n, ybar, float(sums["ss"].sum()))
    shrinkage = n * tau2 / (n * tau2 + sigma2)
    effect = shrinkage * (ybar - mu)
    cond_var = tau2 * (1.0 - shrinkage)
    model = {
        "outcome": outcome,
        "kind": "linear",
        "intercept": mu,
        "intercept_se": float(np.sqrt(var_mu)),
        "tau2": tau2,
        "sigma2": sigma2,
        "icc": tau2 / (tau2 + sigma2),
        "n_clients": int(n.sum()),
        "n_therapists": len(n),
    }
    return _result(
        sums,
        cluster,
        effect=effect,
        effect_var=cond_var,
        shrinkage=shrinkage,
        estimate_var=cond_var + (1.0 - shrinkage) ** 2 * var_mu,
        centre=mu,
        level=level,
        back=lambda x: x,
        model=model,
    )


def _conditional_modes(
    beta: float, theta: float, n: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Modes ``b_j`` of each therapist's integrand and the curvature there (Newton)."""
    b = np.zeros_like(n)
    for _ in range(100):
        p = special.expit(beta + theta * b)
        gradient = theta * (s - n * p) - b
        curvature = theta**2 * n * p * (1 - p) + 1.0
        step = gradient / curvature
        b += step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = special.expit(beta + theta * b)
    return b, theta**2 * n * p * (1 - p) + 1.0


def _laplace_loglik(beta: float, theta: float, n: np.ndarray, s: np.ndarray) -> float:
    b, curvature = _conditional_modes(beta, theta, n, s)
    eta = beta + theta * b
    conditional = s * eta - n * np.logaddexp(0.0, eta)
    return float(np.sum(conditional - 0.5 * b**2 - 0.5 * np.log(curvature)))


def _intercept_variance(beta: float, theta: float, n: np.ndarray, s: np.ndarray) -> float:
    """var(beta) from the inverse Hessian in (beta, tau), as lme4's ``vcov`` (use.hessian)."""
    h = 1e-4

    def f(db: float, dt: float) -> float:
        return _laplace_loglik(beta + db, max(theta + dt, 0.0), n, s)

    if theta < 2 * h:  # at the boundary tau = 0 the curvature in beta alone
        return -(h**2) / (f(h, 0) - 2 * f(0, 0) + f(-h, 0))
    bb = (f(h, 0) - 2 * f(0, 0) + f(-h, 0)) / h**2
    tt = (f(0, h) - 2 * f(0, 0) + f(0, -h)) / h**2
    bt = (f(h, h) - f(h, -h) - f(-h, h) + f(-h, -h)) / (4 * h**2)
    information = -np.array([[bb, bt], [bt, tt]])
    return float(np.linalg.inv(information)[0, 0])


def random_intercepts_binary(
    data: pd.DataFrame, outcome: str, cluster: str = "therapist", *, level: float = 0.95
) -> pd.DataFrame:
    """Shrunken therapist rates of a 0/1 outcome (Laplace, as ``lme4::glmer``).

    The columns are those of :func:`random_intercepts`; ``effect`` is the conditional
    mode ``u_j`` on the log-odds scale and ``effect_se`` its conditional standard
    deviation (lme4's ``condVar``); ``raw_mean``, ``estimate`` and the interval are
    proportions (the interval is computed on the log-odds scale with variance
    ``condVar_j + var(beta)`` and transformed back).  ``shrinkage`` is the weight of
    the therapist's own log-odds in the mode, ``1 - condVar_j / tau^2``.
    ``attrs["model"]`` holds ``intercept`` (``beta``, log-odds), ``intercept_se``,
    ``tau2`` and ``clinic_estimate`` (the rate of a typical therapist,
    ``expit(beta)``) with ``clinic_ci``.

    Examples
    --------
    >>> data = pd.DataFrame({"therapist": list("aaaaabbbbbcccccddddd"),
    ...                      "dropout": [1, 0, 0, 0, 0] * 3 + [1, 1, 1, 0, 0]})
    >>> fit = random_intercepts_binary(data, "dropout")
    >>> bool(fit["estimate"].iloc[3] < fit["raw_mean"].iloc[3])
    True
    """
    level = check_probability(level, name="level")
    clean = _clean(data, outcome, cluster)
    values = clean[outcome].to_numpy(dtype=float)
    if not np.isin(values, (0.0, 1.0)).all():
        raise ValueError(f"{outcome}: a binary outcome must be 0 or 1")
    sums = _cluster_sums(clean, outcome, cluster)
    n = sums["n"].to_numpy(dtype=float)
    s = np.rint(sums["mean"].to_numpy(dtype=float) * n)
    if s.sum() in (0, n.sum()):
        raise ValueError(f"{outcome}: every client has the same value; no model to fit")
    start = float(special.logit(s.sum() / n.sum()))

    def negative(params: np.ndarray) -> float:
        return -_laplace_loglik(params[0], params[1], n, s)

    best = None
    for theta0 in (0.1, 0.5, 1.0):
        fit = optimize.minimize(
            negative,
            np.array([start, theta0]),
            method="L-BFGS-B",
            bounds=[(None, None), (0.0, 20.0)],
            options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 500},
        )
        if best is None or fit.fun < best.fun:
            best = fit
    assert best is not None  # noqa: S101 - the loop above ran
    beta, theta = float(best.x[0]), float(best.x[1])
    var_beta = _intercept_variance(beta, theta, n, s)
    b, curvature = _conditional_modes(beta, theta, n, s)
    tau2 = theta**2
    cond_var = tau2 / curvature
    shrinkage = 1.0 - cond_var / tau2 if tau2 > 0 else np.zeros_like(n)
    model = {
        "outcome": outcome,
        "kind": "logistic",
        "intercept": beta,
        "intercept_se": float(np.sqrt(var_beta)),
        "tau2": tau2,
        "loglik": -float(best.fun),
        "n_clients": int(n.sum()),
        "n_therapists": len(n),
    }
    return _result(
        sums,
        cluster,
        effect=theta * b,
        effect_var=cond_var,
        shrinkage=shrinkage,
        estimate_var=cond_var + var_beta,
        centre=beta,
        level=level,
        back=special.expit,
        model=model,
    )


def group_gaps(
    data: pd.DataFrame,
    outcome: str,
    group: str,
    focal: Hashable,
    cluster: str = "therapist",
    *,
    level: float = 0.95,
    min_per_group: int = MIN_CLIENTS_PER_GROUP,
) -> pd.DataFrame:
    """Shrunken within-therapist gaps: mean of ``focal`` clients minus the rest.

    For every therapist with at least two clients in each group the raw gap
    ``d_j = mean(focal) - mean(rest)`` has sampling variance
    ``v_j = s^2 (1 / n_focal + 1 / n_rest)``, with ``s^2`` the clinic's pooled
    within-(therapist x group) variance.  The gaps are combined in a random-effects
    model ``d_j = delta + g_j + error``, ``g_j ~ N(0, tau^2)`` with ``tau^2`` by REML
    (Viechtbauer 2005; as ``metafor::rma(method = "REML")``), and each gap is shrunk
    towards the clinic gap ``delta``: ``delta + k_j (d_j - delta)``,
    ``k_j = tau^2 / (tau^2 + v_j)``, with prediction-error variance
    ``tau^2 (1 - k_j) + (1 - k_j)^2 var(delta)``.  This is the group-by-therapist
    random slope of a multilevel model, estimated in two steps (Raudenbush & Bryk 2002,
    ch. 3).

    Returns one row per therapist: ``n_focal``, ``n_rest``, ``raw_gap``, ``gap``,
    ``ci_low``, ``ci_high`` and ``enough`` (both groups have at least
    ``min_per_group`` clients; pages show the gap only then).  Therapists without
    two clients in each group have NaN gaps.  ``attrs["model"]`` holds ``clinic_gap``
    (``delta``), its ``clinic_ci``, and ``tau2``.

    Examples
    --------
    >>> data = pd.DataFrame({"therapist": [1] * 6 + [2] * 6,
    ...     "language": ["es", "en"] * 6, "trust": [5, 6, 5, 6, 4, 6, 6, 6, 5, 6, 6, 6]})
    >>> gaps = group_gaps(data, "trust", "language", "es", min_per_group=3)
    >>> [round(g, 2) for g in gaps["gap"]]
    [-1.22, -0.44]
    """
    level = check_probability(level, name="level")
    check_dataframe(data, [group], numeric=False, min_rows=1)
    clean = _clean(data, outcome, cluster)
    clean = clean.join(data[group])
    clean = clean[clean[group].notna()]
    clean["_focal"] = clean[group] == focal
    cells = clean.groupby([cluster, "_focal"])[outcome].agg(["size", "mean", "var"])
    within = ((cells["size"] - 1) * cells["var"].fillna(0)).sum()
    dof = (cells["size"] - 1).sum()
    table = pd.DataFrame(index=pd.Index(sorted(clean[cluster].unique()), name=cluster))
    for flag, name in ((True, "focal"), (False, "rest")):
        part = cells.xs(flag, level="_focal") if flag in cells.index.get_level_values(1) else None
        table[f"n_{name}"] = 0 if part is None else part["size"].reindex(table.index).fillna(0)
        table[f"mean_{name}"] = np.nan if part is None else part["mean"].reindex(table.index)
    table = table.astype({"n_focal": int, "n_rest": int})
    table["raw_gap"] = table["mean_focal"] - table["mean_rest"]
    usable = (table["n_focal"] >= 2) & (table["n_rest"] >= 2)
    z = stats.norm.ppf(0.5 + level / 2)
    table["gap"] = table["ci_low"] = table["ci_high"] = np.nan
    model: dict[str, Any] = {"outcome": outcome, "group": group, "focal": focal, "level": level}
    if usable.sum() >= 2 and dof > 0:
        s2 = within / dof
        d = table.loc[usable, "raw_gap"].to_numpy(dtype=float)
        v = s2 * (1 / table.loc[usable, "n_focal"] + 1 / table.loc[usable, "n_rest"]).to_numpy()
        tau2 = _reml_tau2(d, v)
        w = 1 / (v + tau2)
        delta = float(np.sum(w * d) / np.sum(w))
        var_delta = 1 / float(np.sum(w))
        k = tau2 / (tau2 + v)
        half = z * np.sqrt(tau2 * (1 - k) + (1 - k) ** 2 * var_delta)
        gap = delta + k * (d - delta)
        table.loc[usable, "gap"] = gap
        table.loc[usable, "ci_low"] = gap - half
        table.loc[usable, "ci_high"] = gap + half
        half_delta = z * np.sqrt(var_delta)
        model.update(clinic_gap=delta, clinic_ci=(delta - half_delta, delta + half_delta))
        model.update(tau2=tau2, n_therapists=int(usable.sum()))
    table["enough"] = (table["n_focal"] >= min_per_group) & (table["n_rest"] >= min_per_group)
    out = table.reset_index()[
        [cluster, "n_focal", "n_rest", "raw_gap", "gap", "ci_low", "ci_high", "enough"]
    ]
    out.attrs["model"] = model
    return out


def _reml_tau2(d: np.ndarray, v: np.ndarray) -> float:
    """REML between-therapist variance of gaps with known sampling variances ``v``."""

    def criterion(tau2: float) -> float:
        w = 1 / (v + tau2)
        delta = np.sum(w * d) / np.sum(w)
        return float(np.sum(np.log(v + tau2)) + np.log(np.sum(w)) + np.sum(w * (d - delta) ** 2))

    upper = max(float(np.var(d)) * 10, 1e-8)
    best = optimize.minimize_scalar(
        criterion, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-12}
    )
    return float(best.x) if best.fun < criterion(0.0) else 0.0
