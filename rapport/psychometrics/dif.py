"""Differential item functioning (DIF) by ordinal logistic regression.

For every item, three nested proportional-odds (cumulative logit) models of the item
response on a matching score are compared by likelihood-ratio tests (Swaminathan &
Rogers 1990; Zumbo 1999; the ``lordif`` procedure of Choi, Gibbons & Crane 2011), with an
iteratively purified matching score.  The effect size a clinician can read is the
expected item-score difference between groups at equal matching score, in item points
(a model-based standardisation index, Dorans & Kulick 1986); the default flag rule
combines it with a Holm-corrected test, with cut-offs chosen by simulation
(``bench/dif_power.py``).  The pseudo-R² change (and its Jodoin-Gierl rule) is kept.

The models are fitted by an exact Newton-Raphson maximum-likelihood routine with the
analytic gradient and Hessian (the cumulative-logit log-likelihood is concave in the
thresholds and slopes, Pratt 1981), parameterised exactly like ``MASS::polr``:
``logit P(Y <= k) = zeta_k - x'beta``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, overload

import numpy as np
import pandas as pd
from scipy import special, stats

from rapport.psychometrics._validation import (
    as_column_list,
    check_choice,
    check_dataframe,
    check_positive_int,
    check_probability,
)

__all__ = ["dif"]

#: Jodoin & Gierl (2001) cut-offs for the pseudo-R² change of M3 vs M1.
JODOIN_GIERL = (0.035, 0.070)
#: Zumbo & Thomas (1997) cut-offs (pass as ``thresholds=ZUMBO_THOMAS``).
ZUMBO_THOMAS = (0.13, 0.26)

#: Flag cut-offs for ``rule="score"``: |expected item-score difference| in item points
#: ("moderate" from the first, "large" from the second), chosen by simulation for items
#: scored 1-7 (``bench/dif_power.py``; docs/psychometrics.md).
SCORE_THRESHOLDS = (0.2, 0.4)

_R2_KINDS = ("mcfadden", "nagelkerke", "coxsnell")

#: The columns of :func:`dif`'s result, in order.
COLUMNS = (
    "item", "n", "n_categories", "lr_uniform", "df_uniform", "p_uniform", "lr_nonuniform",
    "df_nonuniform", "p_nonuniform", "lr_total", "df_total", "p_total", "p_adjusted",
    "dr2_uniform", "dr2_nonuniform", "effect_size", "beta_change", "score_diff",
    "score_diff_ci_low", "score_diff_ci_high", "score_diff_group", "flag", "anchor", "note",
)  # fmt: skip


@dataclass(frozen=True)
class _PolrFit:
    """Result of one proportional-odds fit (``MASS::polr`` parameterisation)."""

    llf: float
    zeta: np.ndarray  # K-1 increasing thresholds
    beta: np.ndarray  # slopes, one per column of X
    converged: bool
    n_iter: int
    hessian: np.ndarray  # of the log-likelihood at (zeta, beta): -inverse is the covariance


@overload
def _polr_derivatives(
    params: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    n_cat: int,
    *,
    derivs: Literal[True] = ...,
    weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray, np.ndarray]: ...


@overload
def _polr_derivatives(
    params: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    n_cat: int,
    *,
    derivs: bool,
    weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray | None, np.ndarray | None]: ...


def _polr_derivatives(
    params: np.ndarray,
    y: np.ndarray,
    x: np.ndarray,
    n_cat: int,
    *,
    derivs: bool = True,
    weights: np.ndarray | None = None,
) -> tuple[float, np.ndarray | None, np.ndarray | None]:
    """Log-likelihood, gradient and Hessian of the cumulative-logit model.

    ``params`` = (zeta_1..zeta_{K-1}, beta); ``y`` holds codes 0..K-1.  For respondent i
    in category y, with u = zeta_y - eta and l = zeta_{y-1} - eta (zeta_0 = -inf,
    zeta_K = +inf), p = F(u) - F(l) with F the logistic cdf.  ``weights`` (frequency
    weights) counts row i that many times: the same sums as repeating the row.
    """
    k1 = n_cat - 1
    zeta, beta = params[:k1], params[k1:]
    eta = x @ beta
    ext = np.concatenate(([-np.inf], zeta, [np.inf]))
    u = ext[y + 1] - eta
    lo = ext[y] - eta
    # Difference of cdfs computed in the tail where it does not cancel.
    upper_tail = lo > 0
    fu_, fl_ = special.expit(u), special.expit(lo)
    su, sl = special.expit(-u), special.expit(-lo)  # survival functions 1 - F
    p = np.where(upper_tail, sl - su, fu_ - fl_)
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
        llf = float(np.sum(log_p if weights is None else weights * log_p))
    if not derivs or not np.isfinite(llf):
        return llf, None, None
    gu = fu_ * su  # logistic density at u (0 at +inf)
    gl = fl_ * sl
    hu = gu * (1.0 - 2.0 * fu_)  # derivative of the density
    hl = gl * (1.0 - 2.0 * fl_)
    du = gu / p
    dl = -gl / p
    luu = hu / p - du**2
    lll = -hl / p - dl**2
    lul = gu * gl / p**2
    if weights is not None:
        du, dl, luu, lll, lul = (weights * v for v in (du, dl, luu, lll, lul))
    # The Jacobians of u and l are one-hot in the thresholds (column y for u, y - 1 for
    # l) and -x in the slopes, so the gradient and Hessian blocks are per-category sums
    # (bincount) and weighted cross-products of x: no n x (K - 1 + p) matrices. Rows
    # without an upper (y = K - 1) or lower (y = 0) threshold have du, luu, lul = 0 or
    # dl, lll, lul = 0 (the logistic density is 0 at +-inf), so they add nothing.
    n_beta = x.shape[1]
    n_par = k1 + n_beta

    def by_category(weights: np.ndarray) -> np.ndarray:
        return np.bincount(y, weights=weights, minlength=n_cat)

    grad = np.empty(n_par)
    grad[:k1] = by_category(du)[:k1] + by_category(dl)[1:]
    grad[k1:] = -(x.T @ (du + dl))
    hess = np.zeros((n_par, n_par))
    diagonal = np.arange(k1)
    hess[diagonal, diagonal] = by_category(luu)[:k1] + by_category(lll)[1:]
    # u at threshold a and l at threshold a - 1 for the respondents in category a.
    adjacent = by_category(lul)[1:k1]
    hess[diagonal[1:], diagonal[:-1]] = adjacent
    hess[diagonal[:-1], diagonal[1:]] = adjacent
    wu = luu + lul
    wl = lll + lul
    for j in range(n_beta):
        column = x[:, j]
        hess[:k1, k1 + j] = -(by_category(wu * column)[:k1] + by_category(wl * column)[1:])
    hess[k1:, :k1] = hess[:k1, k1:].T
    hess[k1:, k1:] = (x * (luu + lll + 2.0 * lul)[:, None]).T @ x
    return llf, grad, hess


def _fit_polr(
    y: np.ndarray,
    x: np.ndarray,
    *,
    max_iter: int = 100,
    start: _PolrFit | None = None,
    weights: np.ndarray | None = None,
) -> _PolrFit:
    """Maximum-likelihood proportional-odds logistic regression (no intercept in ``x``).

    Newton-Raphson from the thresholds-only solution (or from ``start``, the fit of a
    nested model whose columns are the first columns of ``x``: its optimum with zero
    slopes for the added columns) with step halving; converged when
    the Newton step (the estimated distance to the optimum) is below 1e-9 relative to the
    parameters, after which that last step is taken (quadratic convergence leaves an
    error of the order of the step squared).  ``weights``: frequency weights (see
    :func:`_polr_derivatives`).
    """
    y = np.asarray(y, dtype=np.intp)
    x = np.asarray(x, dtype=float).reshape(len(y), -1)
    n_cat = int(y.max()) + 1
    counts = np.bincount(y, weights=weights, minlength=n_cat)
    cum = np.cumsum(counts)[:-1] / counts.sum()
    params = np.concatenate((special.logit(cum), np.zeros(x.shape[1])))
    if start is not None and len(start.zeta) == n_cat - 1:
        params[: n_cat - 1] = start.zeta
        params[n_cat - 1 : n_cat - 1 + len(start.beta)] = start.beta
    llf, grad, hess = _polr_derivatives(params, y, x, n_cat, weights=weights)
    converged = False
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - it is reported
        try:
            step = np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            break
        decrement = float(grad @ step)
        if np.max(np.abs(step)) <= 1e-9 * (1.0 + np.max(np.abs(params))) or decrement < 1e-20:
            # Newton's step estimates the distance to the optimum; it cannot shrink
            # much below ~1e-10 because the gradient carries rounding error.
            params = params + step
            llf, grad, hess = _polr_derivatives(params, y, x, n_cat, weights=weights)
            converged = True
            break
        t = 1.0
        improved = False
        for _ in range(60):
            trial = params + t * step
            if np.all(np.diff(trial[: n_cat - 1]) > 0):
                # The full step is almost always taken, so its derivatives are computed
                # with its log-likelihood rather than again after the test.
                llf_t, grad_t, hess_t = _polr_derivatives(
                    trial, y, x, n_cat, derivs=t == 1.0, weights=weights
                )
                if llf_t >= llf:
                    improved = True
                    break
            t /= 2.0
        if not improved:
            # No representable improvement: at the optimum up to rounding if tiny.
            converged = decrement < 1e-12
            break
        params = trial
        if grad_t is not None and hess_t is not None:
            llf, grad, hess = llf_t, grad_t, hess_t
        else:
            llf, grad, hess = _polr_derivatives(params, y, x, n_cat, weights=weights)
    return _PolrFit(
        llf=llf,
        zeta=params[: n_cat - 1].copy(),
        beta=params[n_cat - 1 :].copy(),
        converged=converged,
        n_iter=it,
        hessian=hess,
    )


def _null_llf(y: np.ndarray) -> float:
    """Closed-form thresholds-only log-likelihood: sum_k n_k log(n_k / N)."""
    counts = np.bincount(y)
    counts = counts[counts > 0]
    return float(np.sum(counts * np.log(counts / counts.sum())))


def _pseudo_r2(kind: str, llf: float, llf0: float, n: int) -> float:
    if kind == "mcfadden":
        return 1.0 - llf / llf0
    cox_snell = -np.expm1(2.0 * (llf0 - llf) / n)
    if kind == "coxsnell":
        return float(cox_snell)
    return float(cox_snell / -np.expm1(2.0 * llf0 / n))


def _collapse(
    values: np.ndarray, groups: np.ndarray, min_cell: int
) -> tuple[np.ndarray, list[str]]:
    """Recode an item to consecutive codes 0..K-1, collapsing sparse categories.

    Returns the codes and human-readable notes.  Unobserved categories between the
    smallest and largest observed value are dropped (noted).  Then, while some category
    has fewer than ``min_cell`` responses in some group, the sparsest such category is
    merged with its adjacent category that has fewer responses (the only neighbour at the
    ends of the scale).
    """
    notes: list[str] = []
    levels = np.unique(values)
    if np.all(levels == np.round(levels)):
        full = np.arange(levels.min(), levels.max() + 1)
        gaps = np.setdiff1d(full, levels)
        if gaps.size:
            shown = ", ".join(f"{g:g}" for g in gaps)
            notes.append(f"empty categor{'y' if gaps.size == 1 else 'ies'} {shown} dropped")
    # blocks: list of lists of original levels, in order
    blocks: list[list[float]] = [[float(v)] for v in levels]
    group_levels = np.unique(groups)

    def table() -> np.ndarray:
        out = np.zeros((len(blocks), len(group_levels)), dtype=int)
        for b, block in enumerate(blocks):
            in_block = np.isin(values, block)
            for g, gl in enumerate(group_levels):
                out[b, g] = int(np.sum(in_block & (groups == gl)))
        return out

    while min_cell > 0 and len(blocks) > 1:
        tab = table()
        sparse = tab.min(axis=1)
        if sparse.min() >= min_cell:
            break
        b = int(np.argmin(sparse))
        totals = tab.sum(axis=1)
        if b == 0:
            other = 1
        elif b == len(blocks) - 1:
            other = b - 1
        else:
            other = b - 1 if totals[b - 1] <= totals[b + 1] else b + 1
        first, second = sorted((b, other))
        merged = blocks[first] + blocks[second]
        notes.append(
            "categories "
            + " and ".join(f"{v:g}" for v in merged)
            + f" merged (fewer than {min_cell} responses in a group)"
        )
        blocks[first : second + 1] = [merged]
    codes = np.empty(len(values), dtype=np.intp)
    for b, block in enumerate(blocks):
        codes[np.isin(values, block)] = b
    return codes, notes


def _design(score: np.ndarray, gcodes: np.ndarray, n_groups: int) -> dict[str, np.ndarray]:
    """Design matrices of M1, M2, M3 (treatment coding, first group = reference)."""
    dummies = np.column_stack([(gcodes == g).astype(float) for g in range(1, n_groups)])
    s = score[:, None]
    return {
        "m1": s,
        "m2": np.hstack((s, dummies)),
        "m3": np.hstack((s, dummies, dummies * s)),
    }


def _item_models(
    y: np.ndarray, score: np.ndarray, gcodes: np.ndarray, n_groups: int
) -> dict[str, Any]:
    """Fit M0-M3 for one item; return the fits and log-likelihoods.

    M1, M2 and M3 are nested (each adds columns after the previous one's), so each fit
    starts from the previous optimum: fewer Newton steps to the same maximum.

    The models see a respondent only through (response, matching score, group), so
    respondents who share all three are fitted as one row with a frequency weight: the
    same likelihood (sums in another order) from a few hundred rows instead of thousands.
    """
    scores, score_codes = np.unique(score, return_inverse=True)
    n_cat = int(y.max()) + 1
    key = (score_codes * n_groups + gcodes) * n_cat + y
    cells, counts = np.unique(key, return_counts=True)
    y_cell = (cells % n_cat).astype(np.intp)
    gcodes_cell = (cells // n_cat % n_groups).astype(np.intp)
    score_cell = scores[cells // (n_cat * n_groups)]
    weights = counts.astype(float)
    fits: dict[str, _PolrFit] = {}
    previous = None
    for name, x in _design(score_cell, gcodes_cell, n_groups).items():
        fits[name] = previous = _fit_polr(y_cell, x, start=previous, weights=weights)
    return {
        "llf0": _null_llf(y),
        "fits": fits,
        "cells": (score_cell, gcodes_cell, weights),
    }


def _expected_score_difference(
    fit: _PolrFit,
    category_values: np.ndarray,
    score: np.ndarray,
    gcodes: np.ndarray,
    weights: np.ndarray,
    n_groups: int,
    focal: int,
) -> tuple[float, float]:
    """Standardised expected item-score difference of group ``focal`` and its delta-method SE.

    Under the full model M3 (``_design`` columns: score, group dummies, dummies x score),
    the expected item score of a respondent with linear predictor eta is
    E(eta) = v_0 + sum_k (v_{k+1} - v_k) expit(eta - zeta_k), since
    P(Y > k) = 1 - F(zeta_k - eta).  For every focal respondent, eta_F (their own group)
    and eta_R (the reference group at the same matching score) give
    E(eta_F) - E(eta_R); the mean over the focal group is the difference at equal
    matching score averaged over the focal group's score distribution.  Its gradient in
    (zeta, beta) with the inverse observed information gives the delta-method SE.
    """
    in_focal = gcodes == focal
    s, w = score[in_focal], weights[in_focal]
    dummies = np.zeros((len(s), n_groups - 1))
    dummies[:, focal - 1] = 1.0
    x_focal = np.column_stack((s, dummies, dummies * s[:, None]))
    x_reference = np.zeros_like(x_focal)
    x_reference[:, 0] = s
    steps = np.diff(category_values)
    k1 = len(fit.zeta)
    gradient = np.zeros(k1 + len(fit.beta))
    difference = 0.0
    for x, sign in ((x_focal, 1.0), (x_reference, -1.0)):
        above = special.expit((x @ fit.beta)[:, None] - fit.zeta[None, :])  # P(Y > k)
        density = above * (1.0 - above)
        difference += sign * float(w @ (above @ steps))
        gradient[:k1] -= sign * (w @ density) * steps
        gradient[k1:] += sign * x.T @ (w * (density @ steps))
    total = float(w.sum())
    difference, gradient = difference / total, gradient / total
    try:
        covariance = np.linalg.inv(-fit.hessian)
        variance = float(gradient @ covariance @ gradient)
    except np.linalg.LinAlgError:
        variance = float("nan")
    return difference, float(np.sqrt(variance)) if variance >= 0 else float("nan")


def dif(
    data: pd.DataFrame,
    items: Sequence[str],
    group: str,
    *,
    purify: bool = True,
    purification: str = "stepwise",
    rule: str = "score",
    alpha: float = 0.01,
    score_thresholds: tuple[float, float] = SCORE_THRESHOLDS,
    r2: str = "mcfadden",
    thresholds: tuple[float, float] = JODOIN_GIERL,
    matching: str = "total",
    min_cell: int = 5,
    min_group_size: int = 100,
    max_iter: int = 10,
    nan_policy: str = "raise",
) -> pd.DataFrame:
    r"""Ordinal logistic-regression DIF for every item, with a purified matching score.

    For item *j* with ordered responses Y and matching score S, three proportional-odds
    models with logit link (``MASS::polr`` parameterisation) are fitted::

        M1: logit P(Y <= k) = zeta_k - b1 S
        M2: logit P(Y <= k) = zeta_k - (b1 S + g)                 (group main effect)
        M3: logit P(Y <= k) = zeta_k - (b1 S + g + S x g)         (plus interaction)

    and compared by likelihood-ratio statistics 2(l_b - l_a) with upper-tail chi-square
    p-values: **uniform** DIF M2 vs M1 (df = G - 1), **non-uniform** DIF M3 vs M2
    (df = G - 1) and **total** DIF M3 vs M1 (df = 2(G - 1)), where G is the number of
    groups.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    items : sequence of str
        Item columns (at least 2), integer-coded ordered responses (e.g. 0-3).
    group : str
        Column with the group of each respondent (any hashable labels; at least 2 groups).
    purify : bool, default True
        Iteratively purify the matching score: flagged items are removed from the
        matching score of every item and the analysis is repeated (at most ``max_iter``
        rounds).
    purification : {"stepwise", "all"}, default "stepwise"
        "stepwise": each round removes only the flagged anchor item with the largest
        effect, until no anchor item is flagged (DIF in one item biases the matching
        score and can make the DIF-free items look biased the other way; removing the
        worst item first lets them clear).  "all": remove every flagged item at once
        and repeat until the flagged set no longer changes, as ``lordif`` does.
    rule : {"score", "r2"}, default "score"
        Flag rule (see Notes): "score" uses the Holm-adjusted total test and the
        expected item-score difference (``score_thresholds``); "r2" the unadjusted total
        test and the pseudo-R² change (``thresholds``), as before.
    alpha : float, default 0.01
        Significance level for the total (M3 vs M1) likelihood-ratio test (``lordif``
        default ``alpha = 0.01``); under ``rule="score"`` applied to Holm-adjusted
        p-values (family-wise over the items).
    score_thresholds : (float, float), default (0.2, 0.4)
        ``rule="score"`` cut-offs for |expected item-score difference| in item points:
        "moderate" from the first, "large" from the second.  Chosen by simulation for
        items scored 1-7; scale them with the width of other answer scales.
    r2 : {"mcfadden", "nagelkerke", "coxsnell"}, default "mcfadden"
        Pseudo-R² used for the effect size (``lordif`` default ``pseudo.R2 = "McFadden"``).
    thresholds : (float, float), default (0.035, 0.070)
        Cut-offs for the effect size (R² change of M3 vs M1): below the first is
        negligible, from the first up to the second is moderate, above the second is
        large (Jodoin & Gierl 2001).  ``ZUMBO_THOMAS = (0.13, 0.26)`` is the older, more
        lenient set.
    matching : {"total", "rest"}, default "total"
        Matching score for item *j*: the sum of the anchor items (all items before
        purification, the unflagged ones after) **plus item j itself** ("total", as in
        Swaminathan & Rogers 1990 and the ``difR`` convention for purification), or
        **without** item j ("rest").
    min_cell : int, default 5
        Collapse response categories with fewer than ``min_cell`` responses in any group
        into an adjacent category (``lordif`` ``minCell = 5``); 0 only drops empty
        categories.  Every collapse is reported in the ``note`` column.
    min_group_size : int, default 100
        Raise ``ValueError`` if any group has fewer respondents.
    max_iter : int, default 10
        Maximum number of purification rounds (``lordif`` ``maxIter = 10``).
    nan_policy : {"raise", "listwise"}, default "raise"
        Missing item or group values raise, or the respondent is dropped entirely.

    Returns
    -------
    pandas.DataFrame
        One row per item:

        * ``item`` : item name
        * ``n`` : respondents analysed
        * ``n_categories`` : response categories after collapsing
        * ``lr_uniform``, ``df_uniform``, ``p_uniform`` : M2 vs M1
        * ``lr_nonuniform``, ``df_nonuniform``, ``p_nonuniform`` : M3 vs M2
        * ``lr_total``, ``df_total``, ``p_total`` : M3 vs M1
        * ``p_adjusted`` : ``p_total`` Holm-adjusted over the tested items
        * ``dr2_uniform``, ``dr2_nonuniform`` : pseudo-R² changes M2-M1 and M3-M2
        * ``effect_size`` : pseudo-R² change M3 - M1 (of the ``r2`` kind)
        * ``beta_change`` : relative change of the matching-score slope from M1 to M2,
          ``|b1(M1) - b1(M2)| / |b1(M1)|`` (``lordif``'s ``beta.change`` criterion flags
          >= 0.1; reported here, not used in ``flag``)
        * ``score_diff`` : expected item-score difference, group ``score_diff_group``
          minus the reference group (the first group in sorted order), at equal matching
          score, averaged over that group's respondents (item points; see Notes); with
          more than two groups, the group with the largest absolute difference
        * ``score_diff_ci_low``, ``score_diff_ci_high`` : its 95 % delta-method interval
        * ``score_diff_group`` : the group the difference is for
        * ``flag`` : "none", "moderate" or "large" (see Notes)
        * ``anchor`` : True if the item is in the final matching score
        * ``note`` : category collapsing and fitting remarks ("" if none)

        ``result.attrs["purification"]`` records the rounds, convergence and the final
        anchor items.

    Raises
    ------
    ValueError
        Missing columns, non-integer responses, missing values under
        ``nan_policy="raise"``, fewer than two groups or a group smaller than
        ``min_group_size``.

    Notes
    -----
    **Flag (rule="score", the default).** An item is flagged "moderate" when its
    Holm-adjusted ``p_total`` is below ``alpha`` **and** ``|score_diff|`` reaches 0.2
    item points, "large" from 0.4.  The test guards against chance in small samples;
    the effect size against trivial differences in large ones, where every test is
    significant (the sum score is an imperfect matching variable, so items look
    slightly biased whenever the groups differ in level).  By simulation
    (``bench/dif_power.py``: 8 items scored 1-7, ordinal probit, loadings .60-.85) the
    rule flags a uniform 0.5 SD shift of one item's latent response in >= 90 % of
    replications at 500 per group, and DIF-free items in <= 5 % at 10,000 per group,
    also with a 0.5 SD difference in trait level between groups.  The cut-offs sit near
    the ETS polytomous B/C boundaries (|SMD| / SD of .17 and .25; Zwick, Thissen &
    Mayer 1997) for an item SD of about 1.1-1.2 points.

    **Flag (rule="r2").** ``p_total < alpha`` **and** the pseudo-R² change reaches the
    first threshold; "large" when it exceeds the second.  The chi-square test and the
    effect size refer to the same comparison (M3 vs M1), as in Zumbo (1999).  This rule
    is very conservative for polytomous items: it misses shifts the score rule finds.

    **Expected item-score difference.** With category values v_0 < ... < v_{K-1} (the
    answers; a merged category counts as its mean answer) and M3's fitted
    ``P(Y > k | eta) = F(eta - zeta_k)``, the expected item score is
    E(eta) = v_0 + sum_k (v_{k+1} - v_k) F(eta - zeta_k).  For each respondent i of
    focal group f with matching score S_i, the difference is
    E(b1 S_i + g_f + c_f S_i) - E(b1 S_i), and ``score_diff`` is its mean over group f:
    the standardisation index of Dorans & Kulick (1986) with the focal group's score
    distribution as standard, computed from the model rather than from raw cell means
    (which are noisy in sparse score cells), like the expected-score DIF effect sizes
    of Meade (2010).  The interval is by the delta method with the inverse observed
    information of M3.

    **Effect size.** With l0 the thresholds-only log-likelihood and n respondents:
    McFadden R² = 1 - l/l0, so ΔR²(M3-M1) = (l3 - l1)/(-l0); Cox-Snell R² =
    1 - exp(2(l0 - l)/n); Nagelkerke R² = Cox-Snell / (1 - exp(2 l0/n)).  The default
    cut-offs .035/.070 are Jodoin & Gierl's (2001) for the **Nagelkerke** ΔR² of the
    2-df test; Zumbo & Thomas (1997) proposed .13/.26 (also Nagelkerke-type).  McFadden
    values are smaller than Nagelkerke values for the same fit, so the default
    (McFadden with .035/.070) is conservative; ``lordif`` itself uses McFadden with a
    single cut-off of .02.  Use ``r2="nagelkerke"`` to apply the cut-offs on the scale
    they were derived for.

    **Matching score and purification.** The matching score is the observed sum score
    (``lordif`` uses a graded-response IRT theta instead; the sum score needs no IRT
    fit and is the classical choice of Swaminathan & Rogers 1990).  Purification stops
    early, keeping the last valid round, if fewer than two anchor items would remain.

    **Precision.** The Newton fit converges to the maximum-likelihood solution to
    rounding error; log-likelihoods agree with ``MASS::polr`` (run with a 1e-15
    relative tolerance) to ~5e-12, LR statistics and p-values to ~1e-11, and
    coefficients to ~3e-7, the precision of polr's BFGS optimiser (see
    ``tests/test_dif.py``).

    References
    ----------
    Swaminathan, H., & Rogers, H. J. (1990). Detecting differential item functioning
    using logistic regression procedures. *J Educ Meas*, 27, 361-370.

    Zumbo, B. D. (1999). *A handbook on the theory and methods of differential item
    functioning (DIF)*. Ottawa: Department of National Defense.

    Jodoin, M. G., & Gierl, M. J. (2001). Evaluating type I error and power rates using
    an effect size measure with the logistic regression procedure for DIF detection.
    *Appl Meas Educ*, 14, 329-349.

    Choi, S. W., Gibbons, L. E., & Crane, P. K. (2011). lordif: An R package for
    detecting differential item functioning using iterative hybrid ordinal logistic
    regression/item response theory and Monte Carlo simulations. *J Stat Softw*, 39(8).

    Pratt, J. W. (1981). Concavity of the log likelihood. *JASA*, 76, 103-106.

    Dorans, N. J., & Kulick, E. (1986). Demonstrating the utility of the standardization
    approach to assessing unexpected differential item performance on the Scholastic
    Aptitude Test. *J Educ Meas*, 23, 355-368.

    Meade, A. W. (2010). A taxonomy of effect size measures for the differential
    functioning of items and scales. *J Appl Psychol*, 95, 728-743.

    Zwick, R., Thissen, D., & Mayer, M. (1997). *Guidelines for the use of DIF statistics
    with polytomous items* (ETS Research Memorandum). Educational Testing Service.

    Holm, S. (1979). A simple sequentially rejective multiple test procedure. *Scand J
    Stat*, 6, 65-70.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from rapport.psychometrics.dif import dif
    >>> rng = np.random.default_rng(1)
    >>> n = 400
    >>> g = np.repeat(["a", "b"], n // 2)
    >>> theta = rng.normal(size=n)
    >>> def item(shift):
    ...     z = 1.5 * (theta[:, None] - (np.array([-1.0, 0.0, 1.0]) + shift[:, None]))
    ...     return (rng.random(n)[:, None] < 1 / (1 + np.exp(-z))).sum(axis=1)
    >>> df = pd.DataFrame({f"q{j}": item(np.zeros(n)) for j in range(1, 5)})
    >>> df["q5"] = item(np.where(g == "b", 1.5, 0.0))  # uniform DIF against group b
    >>> df["grp"] = g
    >>> res = dif(df, [f"q{j}" for j in range(1, 6)], "grp")
    >>> res[["item", "flag"]].to_string(index=False)
    'item  flag\n  q1  none\n  q2  none\n  q3  none\n  q4  none\n  q5 large'
    >>> bool(res.loc[4, "p_uniform"] < 1e-10)
    True
    """
    items = as_column_list(items, name="items")
    if len(items) < 2:
        raise ValueError("items: at least 2 items are needed to form a matching score")
    if group in items:
        raise ValueError(f"group column {group!r} is also listed in items")
    check_choice(rule, "rule", ("score", "r2"))
    check_choice(purification, "purification", ("stepwise", "all"))
    check_choice(r2, "r2", _R2_KINDS)
    check_choice(matching, "matching", ("total", "rest"))
    check_choice(nan_policy, "nan_policy", ("raise", "listwise"))
    alpha = check_probability(alpha, "alpha")
    check_positive_int(min_cell, "min_cell", minimum=0)
    check_positive_int(min_group_size, "min_group_size", minimum=2)
    check_positive_int(max_iter, "max_iter", minimum=1)
    cutoffs = {}
    for name, pair in (("thresholds", thresholds), ("score_thresholds", score_thresholds)):
        low, high = (float(t) for t in pair)
        if not 0 < low <= high:
            raise ValueError(f"{name} must satisfy 0 < first <= second; got {pair!r}")
        cutoffs[name] = (low, high)
    rule_cutoffs = cutoffs["score_thresholds" if rule == "score" else "thresholds"]

    resp = check_dataframe(data, items, numeric=True, min_rows=1)
    if group not in data.columns:
        raise ValueError(f"data: group column {group!r} not found")
    grp = data[group]
    missing = resp.isna().any(axis=1).to_numpy() | grp.isna().to_numpy()
    if missing.any():
        if nan_policy == "raise":
            raise ValueError(
                f"data: {int(missing.sum())} respondent(s) have missing item or group values; "
                "use nan_policy='listwise' to drop them"
            )
        resp, grp = resp.loc[~missing], grp.loc[~missing]
    values = resp.to_numpy(dtype=float)
    if not np.all(values == np.round(values)):
        bad = [c for c in items if not np.all(resp[c] == np.round(resp[c]))]
        raise ValueError(f"items must hold integer-coded ordered responses; see {bad}")
    group_levels, gcodes = np.unique(grp.to_numpy().astype(str), return_inverse=True)
    n_groups = len(group_levels)
    if n_groups < 2:
        raise ValueError(f"group {group!r}: at least 2 groups are needed; found {n_groups}")
    sizes = np.bincount(gcodes, minlength=n_groups)
    if sizes.min() < min_group_size:
        small = {
            str(group_levels[i]): int(sizes[i]) for i in np.flatnonzero(sizes < min_group_size)
        }
        raise ValueError(
            f"group {group!r}: every group needs at least {min_group_size} respondents "
            f"(min_group_size); too small: {small}"
        )

    n = len(values)
    coded: dict[str, tuple[np.ndarray, list[str]]] = {
        it: _collapse(values[:, j], gcodes, min_cell) for j, it in enumerate(items)
    }
    # The item points of each (possibly merged) category: the mean answer in it.
    category_values = {
        it: np.array([values[codes == k, j].mean() for k in range(int(codes.max()) + 1)])
        for j, (it, (codes, _)) in enumerate(coded.items())
    }

    def run(anchors: list[str]) -> pd.DataFrame:
        anchor_idx = [items.index(a) for a in anchors]
        anchor_sum = values[:, anchor_idx].sum(axis=1)
        rows = []
        for j, it in enumerate(items):
            y, notes = coded[it]
            in_anchor = it in anchors
            if matching == "total":
                score = anchor_sum if in_anchor else anchor_sum + values[:, j]
            else:
                score = anchor_sum - values[:, j] if in_anchor else anchor_sum
            rows.append(
                _item_row(
                    it, y, category_values[it], list(notes), score, gcodes, group_levels, n, r2
                )
            )
        out = pd.DataFrame(rows)
        out["p_adjusted"] = holm(out["p_total"].to_numpy())
        out["flag"] = _flag(out, rule, alpha, rule_cutoffs)
        out["anchor"] = [it in anchors for it in items]
        return out[list(COLUMNS)]

    anchors = list(items)
    result = run(anchors)
    rounds, converged, stop_note = 1, not purify, ""
    size = result["score_diff"].abs() if rule == "score" else result["effect_size"]
    if purify:
        seen = {frozenset(anchors)}
        while rounds < max_iter:
            is_flagged = (result["flag"] != "none").to_numpy()
            flagged = set(result.loc[is_flagged, "item"])
            if purification == "all":
                new_anchors = [it for it in items if it not in flagged]
            else:
                # Only the flagged anchor with the largest effect leaves: the others may
                # be flagged only because that item contaminates their matching score.
                in_anchors = is_flagged & result["anchor"].to_numpy()
                if not in_anchors.any():
                    converged = True
                    break
                worst = result["item"].iloc[int(np.argmax(np.where(in_anchors, size, -1.0)))]
                new_anchors = [it for it in anchors if it != worst]
            if len(new_anchors) < 2:
                stop_note = "purification stopped: fewer than 2 unflagged items"
                converged = False
                break
            if set(new_anchors) == set(anchors):
                converged = True
                break
            if frozenset(new_anchors) in seen:
                stop_note = "purification stopped: flagged set cycles"
                break
            seen.add(frozenset(new_anchors))
            anchors = new_anchors
            result = run(anchors)
            size = result["score_diff"].abs() if rule == "score" else result["effect_size"]
            rounds += 1
        else:
            flagged = set(result.loc[result["flag"] != "none", "item"])
            if purification == "all":
                converged = set(items) - flagged == set(anchors)
            else:
                converged = not flagged & set(anchors)
            if not converged:
                stop_note = f"purification did not converge in {max_iter} rounds"
        if stop_note:
            result["note"] = ["; ".join(s for s in (nt, stop_note) if s) for nt in result["note"]]
    result.attrs["purification"] = {
        "purify": purify,
        "purification": purification,
        "rounds": rounds,
        "converged": converged,
        "anchors": list(anchors),
        "matching": matching,
        "rule": rule,
        "r2": r2,
        "thresholds": cutoffs["thresholds"],
        "score_thresholds": cutoffs["score_thresholds"],
        "alpha": alpha,
        "groups": [str(g) for g in group_levels],
    }
    return result


def _item_row(
    item: str,
    y: np.ndarray,
    category_values: np.ndarray,
    notes: list[str],
    score: np.ndarray,
    gcodes: np.ndarray,
    group_levels: np.ndarray,
    n: int,
    r2: str,
) -> dict[str, Any]:
    """Test statistics and effect sizes of one item (the flag is set by :func:`_flag`)."""
    n_groups = len(group_levels)
    df_u = n_groups - 1
    row: dict[str, Any] = {"item": item, "n": n, "n_categories": int(y.max()) + 1}
    nan = float("nan")
    stat_cols = (
        "lr_uniform", "df_uniform", "p_uniform", "lr_nonuniform", "df_nonuniform",
        "p_nonuniform", "lr_total", "df_total", "p_total", "dr2_uniform", "dr2_nonuniform",
        "effect_size", "beta_change", "score_diff", "score_diff_ci_low", "score_diff_ci_high",
    )  # fmt: skip
    if row["n_categories"] < 2:
        row.update(dict.fromkeys(stat_cols, nan))
        notes.append("fewer than 2 response categories: not tested")
        row.update(score_diff_group="", note="; ".join(notes))
        return row
    fit = _item_models(y, score, gcodes, n_groups)
    f = fit["fits"]
    l0 = fit["llf0"]
    l1, l2, l3 = f["m1"].llf, f["m2"].llf, f["m3"].llf
    if not all(fi.converged for fi in f.values()):
        notes.append("maximum likelihood did not converge (possible separation)")
    lr_u = max(2.0 * (l2 - l1), 0.0)
    lr_n = max(2.0 * (l3 - l2), 0.0)
    lr_t = max(2.0 * (l3 - l1), 0.0)
    r2_1, r2_2, r2_3 = (_pseudo_r2(r2, ll, l0, n) for ll in (l1, l2, l3))
    b1, b2 = f["m1"].beta[0], f["m2"].beta[0]
    # Every group against the reference (the first); the largest difference is reported.
    cell_score, cell_groups, cell_weights = fit["cells"]
    differences = [
        _expected_score_difference(
            f["m3"], category_values, cell_score, cell_groups, cell_weights, n_groups, focal
        )
        for focal in range(1, n_groups)
    ]
    largest = int(np.argmax([abs(d) for d, _ in differences]))
    score_diff, score_se = differences[largest]
    z = stats.norm.ppf(0.975)
    row.update(
        lr_uniform=lr_u,
        df_uniform=df_u,
        p_uniform=float(stats.chi2.sf(lr_u, df_u)),
        lr_nonuniform=lr_n,
        df_nonuniform=df_u,
        p_nonuniform=float(stats.chi2.sf(lr_n, df_u)),
        lr_total=lr_t,
        df_total=2 * df_u,
        p_total=float(stats.chi2.sf(lr_t, 2 * df_u)),
        dr2_uniform=r2_2 - r2_1,
        dr2_nonuniform=r2_3 - r2_2,
        effect_size=r2_3 - r2_1,
        beta_change=abs(b1 - b2) / abs(b1) if b1 != 0 else nan,
        score_diff=score_diff,
        score_diff_ci_low=score_diff - z * score_se,
        score_diff_ci_high=score_diff + z * score_se,
        score_diff_group=str(group_levels[largest + 1]),
        note="; ".join(notes),
    )
    return row


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values; NaN (untested) entries stay NaN.

    >>> holm(np.array([0.01, 0.04, 0.03, np.nan])).round(3).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted


def _flag(result: pd.DataFrame, rule: str, alpha: float, cutoffs: tuple[float, float]) -> pd.Series:
    """The flag ("none", "moderate" or "large") of every item under ``rule`` (see dif)."""
    if rule == "score":
        significant = result["p_adjusted"].to_numpy() < alpha
        size = result["score_diff"].abs().to_numpy()
    else:
        significant = result["p_total"].to_numpy() < alpha
        size = result["effect_size"].to_numpy()
    low, high = cutoffs
    # NaN sizes (untested items) compare False: never flagged.
    large = significant & (size >= high) if rule == "score" else significant & (size > high)
    moderate = significant & (size >= low) & ~large
    return pd.Series(
        np.where(large, "large", np.where(moderate, "moderate", "none")), index=result.index
    )
