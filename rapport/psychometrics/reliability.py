"""Internal-consistency reliability: Cronbach's alpha (psych-compatible) and omega total.

The numbers reproduce R ``psych::alpha`` (Revelle) item for item: raw and
standardized alpha, the Feldt and "Duhachek" (ASE) confidence intervals,
alpha if an item is dropped, ``raw.r``, ``std.r``, ``r.drop``, item means,
SDs and counts, under pairwise (``use="pairwise"``) or listwise
(``use="complete.obs"``) handling of missing answers, with psych's reverse
keying.  The test-suite checks every one of these numbers against fixtures
written by R (``tests/reference/make_reference.R``) to 1e-9.

All sufficient statistics are computed in one vectorised pass over blocks of
rows with masked matrix products, so a 1,000,000 x 8 table takes a fraction of
a second (``bench/psychometrics.py``).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from rapport.psychometrics._validation import (
    as_column_list,
    check_choice,
    check_dataframe,
    check_positive_int,
    check_probability,
)

__all__ = [
    "OmegaResult",
    "ReliabilityResult",
    "feldt_ci",
    "omega_total",
    "r_qf",
    "reliability",
]

# Rows per block in the single pass over the data (a loop over blocks, never over rows).
# Small blocks keep the per-block matrix products cache-resident and below OpenBLAS's
# multithreading threshold: 8,192-row blocks were 3-10x slower on a shared 2-core VM.
_CHUNK = 2_048

# R's nmath qf() switches to the chi-square limit when a df exceeds this.
_R_QF_LARGE_DF = 4e5


# --------------------------------------------------------------------------- F quantile


def r_qf(p: float, df1: float, df2: float, *, mode: str = "R") -> float:
    """Quantile of the F distribution, optionally reproducing R's ``qf()`` large-df branch.

    Parameters
    ----------
    p : float
        Lower-tail probability.
    df1, df2 : float
        Numerator and denominator degrees of freedom.
    mode : {"R", "exact"}, default "R"
        ``"exact"`` returns :func:`scipy.stats.f.ppf`.  ``"R"`` follows R's nmath
        ``qf.c``: if ``df1 <= df2`` and ``df2 > 4e5`` it returns the chi-square
        limit ``qchisq(p, df1) / df1``; if ``df1 > 4e5`` it returns
        ``df2 / qchisq(1 - p, df2)``; otherwise the exact quantile.

    Returns
    -------
    float

    Notes
    -----
    The switch makes R's (and therefore psych's) Feldt interval differ from the
    exact one by about 1e-4 once (n - 1)(k - 1) > 400,000, e.g. n >= 57,144 for
    k = 8 items.

    Examples
    --------
    >>> round(r_qf(0.975, 9, 10), 6)
    3.778963
    >>> round(r_qf(0.975, 57143, 400001), 6), round(r_qf(0.975, 57143, 400001, mode="exact"), 6)
    (1.011628, 1.012444)
    """
    check_choice(mode, "qf_mode", ("R", "exact"))
    if mode == "R":
        if df1 <= df2 and df2 > _R_QF_LARGE_DF:
            return float(stats.chi2.ppf(p, df1) / df1)
        if df1 > _R_QF_LARGE_DF:
            return float(df2 / stats.chi2.isf(p, df2))
    return float(stats.f.ppf(p, df1, df2))


def feldt_ci(
    alpha: float, n: int, k: int, *, ci: float = 0.95, qf_mode: str = "R"
) -> tuple[float, float]:
    """Feldt, Woodruff & Salih (1987) confidence interval for Cronbach's alpha.

    Parameters
    ----------
    alpha : float
        Sample alpha.
    n : int
        Number of respondents (psych uses ``nrow(x)``: all rows).
    k : int
        Number of items.
    ci : float, default 0.95
        Confidence level.
    qf_mode : {"R", "exact"}, default "R"
        F quantile rule, see :func:`r_qf`.  ``"R"`` matches ``psych::alpha.ci``;
        ``"exact"`` matches pingouin (before its rounding to 3 decimals).

    Returns
    -------
    (lower, upper) : tuple of float

    Notes
    -----
    With p = 1 - ci, df1 = n - 1 and df2 = (n - 1)(k - 1):

    .. math:: [1 - (1-\\alpha) F^{-1}(1 - p/2),\\; 1 - (1-\\alpha) F^{-1}(p/2)]

    This is the formula of ``psych::alpha.ci`` (psych >= 2.2.3, which replaced
    df2 = infinity by (n - 1)(k - 1)) and of ``pingouin.cronbach_alpha``.

    References
    ----------
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference
    for coefficient alpha. *Applied Psychological Measurement*, 11, 93-103.

    Examples
    --------
    >>> lo, hi = feldt_ci(0.7925700580587618, n=500, k=8)
    >>> round(lo, 6), round(hi, 6)
    (0.763909, 0.818968)
    """
    check_probability(ci, "ci")
    if n < 2 or k < 2:
        raise ValueError(f"feldt_ci needs n >= 2 and k >= 2; got n={n}, k={k}")
    p = 1.0 - ci
    df1, df2 = n - 1, (n - 1) * (k - 1)
    lower = 1.0 - (1.0 - alpha) * r_qf(1.0 - p / 2.0, df1, df2, mode=qf_mode)
    upper = 1.0 - (1.0 - alpha) * r_qf(p / 2.0, df1, df2, mode=qf_mode)
    return float(lower), float(upper)


def _duhachek_z(ci: float) -> float:
    # psych's print method hard-codes 1.96 for its 95% interval; reproduce that exactly.
    return 1.96 if ci == 0.95 else float(stats.norm.ppf(0.5 + ci / 2.0))


# --------------------------------------------------------------------------- moments


@dataclass
class _Moments:
    """Pairwise sufficient statistics of k items plus the row-mean total (column k)."""

    n_rows: int  # all rows (psych's nrow(x))
    n_complete: int  # rows with every item answered
    count: np.ndarray  # (k+1,) answered cells per column, all rows
    mean: np.ndarray  # (k+1,) column means over all rows (na.rm)
    var: np.ndarray  # (k+1,) column variances (ddof 1) over all rows
    cov: np.ndarray  # (k+1, k+1) pairwise (or listwise) covariance
    cor: np.ndarray  # (k+1, k+1) pairwise (or listwise) correlation
    pair_n: np.ndarray  # (k+1, k+1) rows used for each pair


def _to_float_array(df: pd.DataFrame) -> np.ndarray:
    if all(dt == np.float64 for dt in df.dtypes):
        return df.to_numpy()  # a view for a single float64 block: no copy
    return df.to_numpy(dtype=np.float64, na_value=np.nan)


def _moments(
    x: np.ndarray,
    *,
    listwise: bool,
    flip: np.ndarray | None = None,
    flip_sum: float = 0.0,
    weights: np.ndarray | None = None,
) -> _Moments:
    """One vectorised pass (in blocks of rows) computing all pairwise moments.

    Per block of rows, ``B = [w | a | a*a]`` (stored transposed) holds the 0/1 mask ``w``,
    the shifted answers ``a`` (0 where missing; the reverse-keyed items recoded)
    and their squares, for the k items plus the row-mean total (column k).  With
    row weights f (bootstrap frequencies, times the complete-row indicator under
    listwise deletion) the pair statistics are two masked matrix products

        B' (f w)  ->  N = w'fw,  S = a'fw,  Q = (a*a)'fw;      P = a'(f a)

    and the pairwise covariance is (P - S*S'/N) / (N - 1) and the pairwise
    correlation (P - S*S'/N) / sqrt((Q - S^2/N)(Q - S^2/N)'): per-pair means, as
    R's ``cov``/``cor(use="pairwise.complete.obs")``.  Per-column statistics
    (item n, mean, SD; total mean, SD) always use every row, as psych does.
    The data are shifted by a provisional mean (from the first block) so that the
    one-pass sums do not lose precision.
    """
    n, k = x.shape
    p = k + 1
    chunk = min(_CHUNK, max(n, 1))
    fidx = np.flatnonzero(flip) if flip is not None else np.empty(0, dtype=np.intp)

    # provisional centre (in reverse-keyed space) from the first block
    head = np.array(x[:chunk], dtype=np.float64)
    if fidx.size:
        head[:, fidx] = flip_sum - head[:, fidx]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        cm = np.nanmean(head, axis=0)
    shift = np.where(np.isfinite(cm), cm, 0.0)
    shift_t = float(shift.mean())
    # subtracting `raw_shift` from the raw answers and negating the reversed columns
    # gives (flip_sum - x) - shift for them, and x - shift for the others
    raw_shift = shift.copy()
    raw_shift[fidx] = flip_sum - shift[fidx]

    # Blocks are held transposed (variables x rows), so every variable's values are
    # contiguous whether the DataFrame's array is row- or column-major.
    buf = np.empty((3 * p, chunk))
    nan = np.empty((k, chunk), dtype=bool)
    wf_buf = np.empty((p, chunk))
    af_buf = np.empty((p, chunk))
    ones_k = np.ones(k)
    G1 = np.zeros((3 * p, p))  # [w a aa]' (f w)
    P = np.zeros((p, p))  # a' (f a)
    col = np.zeros(3 * p)  # [w a aa]' f over all rows (needed under listwise only)
    n_complete = 0.0
    for start in range(0, n, chunk):
        m = min(chunk, n - start)
        B = buf[:, :m]
        w, a, aa = B[:p], B[p : 2 * p], B[2 * p :]
        nb = nan[:, :m]
        np.subtract(x[start : start + m].T, raw_shift[:, None], out=a[:k])
        if fidx.size:
            a[fidx] *= -1.0
        np.isnan(a[:k], out=nb)
        np.subtract(1.0, nb, out=w[:k])
        np.copyto(a[:k], 0.0, where=nb)
        cnt = ones_k @ w[:k]
        # row-mean total of the answered items (psych: rowMeans(x, na.rm = TRUE))
        has_any = cnt > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            tot = (ones_k @ a[:k] + shift @ w[:k]) / cnt
        w[k] = has_any
        a[k] = np.where(has_any, tot - shift_t, 0.0)
        np.multiply(a, a, out=aa)
        complete = cnt == k

        f = None if weights is None else weights[start : start + m].astype(np.float64)
        rw = f  # row weights for the pair statistics
        if listwise:
            col += B.sum(axis=1) if f is None else B @ f
            rw = complete.astype(np.float64) if f is None else f * complete
        n_complete += complete.sum() if f is None else f[complete].sum()
        if rw is None:
            wf, af = w, a
        else:
            wf, af = wf_buf[:, :m], af_buf[:, :m]
            np.multiply(w, rw, out=wf)
            np.multiply(a, rw, out=af)
        G1 += B @ wf.T
        P += a @ af.T

    N, S, Q = G1[:p], G1[p : 2 * p], G1[2 * p :]
    if listwise:
        col_n, col_s, col_q = col[:p], col[p : 2 * p], col[2 * p :]
    else:  # the pair statistics over all rows contain the per-column ones on the diagonal
        col_n, col_s, col_q = np.diag(N).copy(), np.diag(S).copy(), np.diag(P).copy()
    centre = np.append(shift, shift_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = centre + col_s / col_n
        var = (col_q - col_s**2 / col_n) / (col_n - 1)
        cross = P - S * S.T / N
        cov = cross / (N - 1)
        ss = Q - S**2 / N
        cor = cross / np.sqrt(ss * ss.T)
    np.fill_diagonal(cor, 1.0)
    n_rows = n if weights is None else int(weights.sum())
    return _Moments(n_rows, round(n_complete), col_n, mean, var, cov, cor, N)


# --------------------------------------------------------------------------- alpha core


def _raw_alpha(C: np.ndarray) -> float:
    k = C.shape[0]
    return float((1.0 - np.trace(C) / C.sum()) * k / (k - 1))


def _std_alpha(R: np.ndarray) -> float:
    k = R.shape[0]
    return float((1.0 - k / R.sum()) * k / (k - 1))


def _ase_q(C: np.ndarray) -> float:
    """Duhachek & Iacobucci's Q with Hattori's matrix-product correction (psych alpha.1)."""
    k = C.shape[0]
    s = C.sum()
    tr = np.trace(C)
    CC = C @ C
    return float(
        2 * k**2 / ((k - 1) ** 2 * s**3) * (s * (np.trace(CC) + tr**2) - 2 * tr * CC.sum())
    )


# --------------------------------------------------------------------------- results


def _clean(v: Any) -> Any:
    """JSON-friendly: numpy scalars to Python, NaN to None."""
    if isinstance(v, tuple | list):
        return [_clean(x) for x in v]
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, float | np.floating):
        return None if not np.isfinite(v) else float(v)
    return v


@dataclass(frozen=True)
class ReliabilityResult:
    """Cronbach's alpha report (see :func:`reliability`).

    Attributes
    ----------
    alpha, std_alpha : float
        Raw and standardized alpha.
    average_r : float
        Mean inter-item correlation (from the same R as ``std_alpha``).
    ase : float
        Asymptotic standard error of alpha (Duhachek & Iacobucci; Hattori correction).
    feldt_ci, duhachek_ci : (float, float)
        Confidence intervals at level ``ci``.
    bootstrap_ci : (float, float) or None
        Percentile bootstrap interval (``n_boot > 0``), else None.
    n : int
        Rows in the data (all of them, as psych; used for both intervals).
    n_complete : int
        Rows with every item answered.
    k : int
        Number of items.
    total_mean, total_sd : float
        Mean and SD of the row-mean total score.
    items : pandas.DataFrame
        One row per item: ``item, n, mean, sd, raw_r, std_r, r_drop,
        alpha_if_dropped, std_alpha_if_dropped, reversed``.
    ci, missing, r_from, qf_mode, n_boot, seed :
        The options used.
    """

    alpha: float
    std_alpha: float
    average_r: float
    ase: float
    feldt_ci: tuple[float, float]
    duhachek_ci: tuple[float, float]
    bootstrap_ci: tuple[float, float] | None
    n: int
    n_complete: int
    k: int
    total_mean: float
    total_sd: float
    items: pd.DataFrame = field(repr=False)
    ci: float = 0.95
    missing: str = "pairwise"
    r_from: str = "cor"
    qf_mode: str = "R"
    n_boot: int = 0
    seed: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python (JSON-serialisable) dict; NaN becomes None.

        Keys: ``n, n_complete, k, alpha, std_alpha, average_r, ase, feldt_ci,
        duhachek_ci, bootstrap_ci, total_mean, total_sd, ci, missing, r_from,
        qf_mode, items`` (a list of per-item dicts).
        """
        items = [
            {key: _clean(val) for key, val in row.items()}
            for row in self.items.to_dict(orient="records")
        ]
        return {
            "n": int(self.n),
            "n_complete": int(self.n_complete),
            "k": int(self.k),
            "alpha": _clean(self.alpha),
            "std_alpha": _clean(self.std_alpha),
            "average_r": _clean(self.average_r),
            "ase": _clean(self.ase),
            "feldt_ci": _clean(self.feldt_ci),
            "duhachek_ci": _clean(self.duhachek_ci),
            "bootstrap_ci": None if self.bootstrap_ci is None else _clean(self.bootstrap_ci),
            "total_mean": _clean(self.total_mean),
            "total_sd": _clean(self.total_sd),
            "ci": self.ci,
            "missing": self.missing,
            "r_from": self.r_from,
            "qf_mode": self.qf_mode,
            "items": items,
        }


# --------------------------------------------------------------------------- main entry


def _prepare(
    data: pd.DataFrame,
    items: Sequence[Any] | None,
    reverse: Iterable[Any] | str,
    min_rows: int = 3,
) -> tuple[list[Any], np.ndarray, np.ndarray, float]:
    df = check_dataframe(data, items, numeric=True, min_rows=min_rows)
    cols = list(df.columns)
    if len(cols) < 2:
        raise ValueError(f"at least 2 items are required, got {len(cols)}")
    rev = as_column_list(reverse, name="reverse")
    unknown = [c for c in rev if c not in cols]
    if unknown:
        raise ValueError(f"reverse: column(s) not among the items: {', '.join(map(repr, unknown))}")
    x = _to_float_array(df)
    flip = np.array([c in rev for c in cols])
    flip_sum = 0.0
    if flip.any():
        # psych: (max + min) - x with min and max observed over *all* items.
        flip_sum = float(np.nanmin(x) + np.nanmax(x))
    return cols, x, flip, flip_sum


def reliability(
    data: pd.DataFrame,
    items: Sequence[Any] | None = None,
    *,
    missing: str = "pairwise",
    reverse: Iterable[Any] | str = (),
    ci: float = 0.95,
    n_boot: int = 0,
    seed: int | None = None,
    r_from: str = "cor",
    qf_mode: str = "R",
) -> ReliabilityResult:
    """Cronbach's alpha with confidence intervals and item statistics, as ``psych::alpha``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one numeric column per item; NaN = not answered.
    items : list of str, optional
        Item columns (default: all columns).
    missing : {"pairwise", "listwise"}, default "pairwise"
        ``"pairwise"`` = psych's default ``use="pairwise"``: each covariance uses the
        rows answering both items.  ``"listwise"`` = ``use="complete.obs"``: the
        covariances, correlations and ``raw_r`` use complete rows only, while item
        ``n``/``mean``/``sd`` and the total's mean/SD still use every row (as psych).
    reverse : list of str, optional
        Negatively worded items, recoded as ``(max + min) - x`` where ``min`` and
        ``max`` are observed over *all* items (psych's ``keys`` rule).
    ci : float, default 0.95
        Level of all intervals.
    n_boot : int, default 0
        Bootstrap resamples of rows for a percentile interval (0 = none).
    seed : int, optional
        Seed for :func:`numpy.random.default_rng` (bootstrap only).
    r_from : {"cor", "cov2cor"}, default "cor"
        Correlation matrix R behind ``std_alpha``, ``average_r``, ``std_r`` and
        ``std_alpha_if_dropped``.  ``"cor"`` = pairwise ``cor(x)`` (psych >= 2.4.1);
        ``"cov2cor"`` = the pairwise covariance rescaled by the item variances
        (psych <= 2.3.x, e.g. Debian's 2.2.9).  Identical without missing data or
        under listwise deletion.
    qf_mode : {"R", "exact"}, default "R"
        F quantile for the Feldt interval, see :func:`r_qf`.

    Returns
    -------
    ReliabilityResult
        ``.alpha, .std_alpha, .average_r, .ase, .feldt_ci, .duhachek_ci,
        .bootstrap_ci, .n, .n_complete, .k, .total_mean, .total_sd`` and
        ``.items``, a DataFrame with columns

        - ``item``: column name;
        - ``n``: answered cells;
        - ``mean``, ``sd``: item mean and SD (ddof = 1), after reverse keying;
        - ``raw_r``: correlation of the item with the row-mean total (psych ``raw.r``);
        - ``std_r``: ``colSums(R) / sqrt(sum(R))`` (psych ``std.r``);
        - ``r_drop``: corrected item-total correlation (psych ``r.drop``);
        - ``alpha_if_dropped``, ``std_alpha_if_dropped``: alpha without the item;
        - ``reversed``: whether the item was reverse keyed.

    Raises
    ------
    ValueError
        Non-DataFrame input, unknown or non-numeric columns, fewer than 3 rows
        (or complete rows under listwise), fewer than 2 items, an item without
        variance, or a pair of items never answered together.

    Notes
    -----
    With C the item covariance matrix, R the correlation matrix, k items and
    :math:`\\Sigma` the sum of all elements (psych's ``alpha.1``):

    - alpha = (1 - tr(C)/ΣC) k/(k-1); std_alpha = (1 - k/ΣR) k/(k-1);
      average_r = (ΣR - k)/(k(k-1)).
    - ASE (Duhachek & Iacobucci 2004, with Hattori's correction used by psych since
      2016): Q = 2k²/((k-1)²(ΣC)³) [ΣC (tr(CC) + tr(C)²) - 2 tr(C) Σ(CC)],
      ase = sqrt(Q/n); Duhachek interval alpha ± z·ase with z = 1.96 at 95% exactly as
      psych prints it (the normal quantile for other levels).
    - Feldt interval: :func:`feldt_ci` with n = all rows, as psych (``nrow(x)``) and
      pingouin do, even under listwise deletion.
    - r_drop_i = (ΣC[, i] - C_ii) / sqrt(C_ii ΣC[-i, -i]): the item against the sum of
      the other items computed from the covariance matrix, not from a rest score.
    - The bootstrap resamples rows (with replacement) ``n_boot`` times with
      ``numpy.random.default_rng(seed)``, recomputes alpha with the same missing-data
      rule and reports the (1-ci)/2 and (1+ci)/2 quantiles (R type 7).  psych's own
      bootstrap (``n.iter``) is only reproducible with ``mc.cores = 1`` and uses other
      random numbers, so only the distributions are comparable.

    Agreement with psych 2.2.9 (``r_from="cov2cor"``) and the psych >= 2.4.1 rule
    (``r_from="cor"``) is tested to 1e-9 for every number above, pairwise and listwise,
    with and without reverse keying.  Unlike psych, an item without variance raises
    instead of being dropped with a warning.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    *Psychometrika*, 16, 297-334.
    Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE).
    *Journal of Applied Psychology*, 89, 792-808.
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). *Applied Psychological
    Measurement*, 11, 93-103.
    Revelle, W. psych: Procedures for Psychological, Psychometric, and Personality
    Research (``alpha``, ``alpha.ci``), https://CRAN.R-project.org/package=psych.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "q1": [4, 5, 3, 4, 2, 5, 3, 4, 1, 3],
    ...     "q2": [4, 4, 3, 5, 2, 5, 2, 4, 2, 2],
    ...     "q3": [2, 1, 4, 2, 4, 2, 3, 1, 5, 3],  # negatively worded
    ...     "q4": [5, 4, 3, 4, 1, 4, 3, 3, 2, 4],
    ... })
    >>> res = reliability(df, reverse=["q3"])
    >>> round(res.alpha, 4), round(res.std_alpha, 4)
    (0.9227, 0.9222)
    >>> [round(v, 4) for v in res.feldt_ci]
    [0.7966, 0.9784]
    >>> res.items[["item", "mean", "raw_r", "r_drop", "alpha_if_dropped"]].round(3)
      item  mean  raw_r  r_drop  alpha_if_dropped
    0   q1   3.4  0.967   0.938             0.858
    1   q2   3.3  0.885   0.794             0.908
    2   q3   3.3  0.920   0.847             0.891
    3   q4   3.3  0.828   0.715             0.933

    The same numbers as R: ``psych::alpha(df, keys = "q3")``.
    """
    check_choice(missing, "missing", ("pairwise", "listwise"))
    check_choice(r_from, "r_from", ("cor", "cov2cor"))
    check_choice(qf_mode, "qf_mode", ("R", "exact"))
    ci = check_probability(ci, "ci")
    n_boot = check_positive_int(n_boot, "n_boot", minimum=0)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int | np.integer)):
        raise ValueError(f"seed must be an integer or None; got {seed!r}")

    cols, x, flip, flip_sum = _prepare(data, items, reverse)
    listwise = missing == "listwise"
    mom = _moments(x, listwise=listwise, flip=flip, flip_sum=flip_sum)
    k = len(cols)
    _check_moments(mom, cols, listwise)

    C = mom.cov[:k, :k]
    if r_from == "cor":
        R = mom.cor[:k, :k]
    else:
        d = np.sqrt(np.diag(C))
        R = C / np.outer(d, d)
    alpha = _raw_alpha(C)
    std_alpha = _std_alpha(R)
    average_r = float((R.sum() - k) / (k * (k - 1)))
    n = mom.n_rows
    ase = float(np.sqrt(_ase_q(C) / n))
    z = _duhachek_z(ci)
    feldt = feldt_ci(alpha, n, k, ci=ci, qf_mode=qf_mode)
    duhachek = (alpha - z * ase, alpha + z * ase)

    sum_c = C.sum()
    col_c = C.sum(axis=0)
    diag_c = np.diag(C)
    keep = np.ones(k, dtype=bool)
    a_drop = np.full(k, np.nan)
    s_drop = np.full(k, np.nan)
    r_drop = np.empty(k)
    for i in range(k):  # loop over items (k is small), never over rows
        keep[:] = True
        keep[i] = False
        rest = sum_c - 2 * col_c[i] + diag_c[i]
        r_drop[i] = (col_c[i] - diag_c[i]) / np.sqrt(diag_c[i] * rest)
        if k > 2:
            a_drop[i] = _raw_alpha(C[np.ix_(keep, keep)])
            s_drop[i] = _std_alpha(R[np.ix_(keep, keep)])
    std_r = R.sum(axis=0) / np.sqrt(R.sum())

    item_table = pd.DataFrame(
        {
            "item": cols,
            "n": mom.count[:k].astype(np.int64),
            "mean": mom.mean[:k],
            "sd": np.sqrt(mom.var[:k]),
            "raw_r": mom.cor[k, :k],
            "std_r": std_r,
            "r_drop": r_drop,
            "alpha_if_dropped": a_drop,
            "std_alpha_if_dropped": s_drop,
            "reversed": flip,
        }
    )

    boot_ci = None
    if n_boot > 0:
        boot_ci = _bootstrap_alpha(x, listwise, flip, flip_sum, n_boot, seed, ci)

    return ReliabilityResult(
        alpha=alpha,
        std_alpha=std_alpha,
        average_r=average_r,
        ase=ase,
        feldt_ci=feldt,
        duhachek_ci=(float(duhachek[0]), float(duhachek[1])),
        bootstrap_ci=boot_ci,
        n=int(n),
        n_complete=int(mom.n_complete),
        k=k,
        total_mean=float(mom.mean[k]),
        total_sd=float(np.sqrt(mom.var[k])),
        items=item_table,
        ci=ci,
        missing=missing,
        r_from=r_from,
        qf_mode=qf_mode,
        n_boot=n_boot,
        seed=seed,
    )


def _check_moments(mom: _Moments, cols: list[Any], listwise: bool) -> None:
    k = len(cols)
    if listwise and mom.n_complete < 3:
        raise ValueError(
            f"listwise deletion leaves {mom.n_complete} complete row(s); at least 3 are needed"
        )
    bad = [c for c, v in zip(cols, mom.var[:k], strict=True) if not (v > 0)]
    if bad:
        raise ValueError(
            "item(s) without variance (constant or fewer than 2 answers): "
            + ", ".join(map(repr, bad))
        )
    pn = mom.pair_n[:k, :k]
    if (pn < 3).any():
        i, j = np.argwhere(pn < 3)[0]
        raise ValueError(
            f"items {cols[i]!r} and {cols[j]!r} are answered together by only "
            f"{int(pn[i, j])} respondent(s); at least 3 are needed"
        )
    C = mom.cov[:k, :k]
    if not np.isfinite(C).all() or not np.isfinite(mom.cor[: k + 1, : k + 1]).all():
        raise ValueError("covariance matrix is not finite (an item pair has no variance)")


def _bootstrap_alpha(
    x: np.ndarray,
    listwise: bool,
    flip: np.ndarray,
    flip_sum: float,
    n_boot: int,
    seed: int | None,
    ci: float,
) -> tuple[float, float]:
    """Percentile bootstrap of raw alpha: rows resampled with replacement.

    Each resample is represented by frequency weights (``bincount`` of the drawn
    row indices), which gives exactly the moments of the resampled table without
    copying it.
    """
    rng = np.random.default_rng(seed)
    n, k = x.shape
    values = np.empty(n_boot)
    for b in range(n_boot):
        f = np.bincount(rng.integers(0, n, size=n), minlength=n)
        mom = _moments(x, listwise=listwise, flip=flip, flip_sum=flip_sum, weights=f)
        C = mom.cov[:k, :k]
        values[b] = _raw_alpha(C) if np.isfinite(C).all() else np.nan
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(values, [(1 - ci) / 2, (1 + ci) / 2])
    return float(lo), float(hi)


# --------------------------------------------------------------------------- omega


@dataclass(frozen=True)
class OmegaResult:
    """McDonald's omega from a one-factor minres fit (see :func:`omega_total`).

    Attributes
    ----------
    omega_total : float
        (ΣR - Σu²) / ΣR.
    omega_h : float
        (Σλ)² / ΣR (for one factor this equals the model-implied share of the
        common factor; psych notes it is "not meaningful" as a hierarchical omega).
    std_alpha : float
        Standardized alpha from the same R.
    loadings : pandas.DataFrame
        ``item, loading, uniqueness, flipped``.
    n, k : int
    estimator : str
    """

    omega_total: float
    omega_h: float
    std_alpha: float
    loadings: pd.DataFrame = field(repr=False)
    n: int
    k: int
    estimator: str = "minres (unweighted least squares), one factor"

    def as_dict(self) -> dict[str, Any]:
        """Plain-Python (JSON-serialisable) dict."""
        return {
            "omega_total": _clean(self.omega_total),
            "omega_h": _clean(self.omega_h),
            "std_alpha": _clean(self.std_alpha),
            "n": int(self.n),
            "k": int(self.k),
            "estimator": self.estimator,
            "loadings": [
                {key: _clean(val) for key, val in row.items()}
                for row in self.loadings.to_dict(orient="records")
            ],
        }


def _one_factor_minres(R: np.ndarray, max_h2: float = 0.995) -> np.ndarray:
    """Minres (ULS) one-factor loadings: minimise sum_{i<j} (r_ij - l_i l_j)^2.

    Started from principal axes with squared multiple correlations; solved with
    :func:`scipy.optimize.least_squares` (analytic Jacobian), communalities bounded
    at 0.995 as psych bounds the uniquenesses at 0.005.
    """
    k = R.shape[0]
    iu, ju = np.triu_indices(k, 1)
    r = R[iu, ju]
    try:
        smc = 1.0 - 1.0 / np.diag(np.linalg.inv(R))
    except np.linalg.LinAlgError:
        smc = np.full(k, 0.5)
    Rr = R.copy()
    np.fill_diagonal(Rr, np.clip(smc, 0.0, max_h2))
    vals, vecs = np.linalg.eigh(Rr)
    lam0 = vecs[:, -1] * np.sqrt(max(vals[-1], 1e-6))
    if lam0.sum() < 0:
        lam0 = -lam0
    bound = np.sqrt(max_h2)
    lam0 = np.clip(lam0, -bound + 1e-9, bound - 1e-9)
    rows = np.arange(r.size)

    def resid(lam: np.ndarray) -> np.ndarray:
        residuals: np.ndarray = lam[iu] * lam[ju] - r
        return residuals

    def jac(lam: np.ndarray) -> np.ndarray:
        J = np.zeros((r.size, k))
        J[rows, iu] = lam[ju]
        J[rows, ju] = lam[iu]
        return J

    fit = optimize.least_squares(
        resid, lam0, jac=jac, bounds=(-bound, bound), xtol=1e-15, ftol=1e-15, gtol=1e-15
    )
    lam = fit.x
    if lam.sum() < 0:
        lam = -lam
    return lam


def omega_total(
    data: pd.DataFrame,
    items: Sequence[Any] | None = None,
    *,
    missing: str = "pairwise",
    reverse: Iterable[Any] | str = (),
    flip: bool = True,
) -> OmegaResult:
    """McDonald's omega total from a one-factor minres model, as ``psych::omega(nfactors=1)``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one numeric column per item.
    items : list of str, optional
        Item columns (default: all).
    missing : {"pairwise", "listwise"}, default "pairwise"
        Correlations from pairwise-complete (psych's default) or complete rows.
    reverse : list of str, optional
        Items to reverse key first (psych's ``(max + min) - x`` rule).
    flip : bool, default True
        As psych's ``flip=TRUE``: items loading negatively are reversed (their
        rows and columns of R change sign) before omega is computed.

    Returns
    -------
    OmegaResult
        ``.omega_total``, ``.omega_h``, ``.std_alpha``, ``.loadings`` (DataFrame:
        ``item, loading, uniqueness, flipped``), ``.n``, ``.k``, ``.estimator``.

    Notes
    -----
    Estimator: a one-factor *minres* (unweighted least squares on the off-diagonal
    correlations) fit of the correlation matrix R -- psych's default ``fm="minres"``
    -- solved to full convergence here.  With loadings λ and uniquenesses
    u² = 1 - λ²:

    .. math:: \\omega_t = (\\Sigma R - \\Sigma u^2) / \\Sigma R, \\qquad
              \\omega_h = (\\Sigma\\lambda)^2 / \\Sigma R

    where ΣR is the sum of all elements of the *observed* R (psych's ``omegah``).
    psych's optimiser (L-BFGS-B on the uniquenesses) stops earlier, so results
    agree with ``psych::omega(nfactors=1)`` to about 1e-6 (tested at 1e-4 against
    the fixtures).  CFA-based omega (lavaan/semopy, ML with model-implied variance)
    differs in the third decimal and is not what this computes.

    References
    ----------
    McDonald, R. P. (1999). *Test theory: A unified treatment*. Erlbaum.
    Revelle, W., & Zinbarg, R. E. (2009). Coefficients alpha, beta, omega, and the
    glb. *Psychometrika*, 74, 145-154.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.standard_normal(300)
    >>> df = pd.DataFrame({f"q{i}": 0.7 * f + 0.7 * rng.standard_normal(300) for i in range(5)})
    >>> om = omega_total(df)
    >>> round(om.omega_total, 3), round(om.std_alpha, 3)
    (0.796, 0.794)
    """
    check_choice(missing, "missing", ("pairwise", "listwise"))
    cols, x, fl, flip_sum = _prepare(data, items, reverse)
    listwise = missing == "listwise"
    mom = _moments(x, listwise=listwise, flip=fl, flip_sum=flip_sum)
    k = len(cols)
    if k < 3:
        raise ValueError(f"omega needs at least 3 items, got {k}")
    _check_moments(mom, cols, listwise)
    R = mom.cor[:k, :k].copy()
    lam = _one_factor_minres(R)
    flipped = np.zeros(k, dtype=bool)
    if flip and (lam < 0).any():
        flipped = lam < 0
        sign = np.where(flipped, -1.0, 1.0)
        R = R * np.outer(sign, sign)
        lam = lam * sign
    u2 = 1.0 - lam**2
    vt = R.sum()
    table = pd.DataFrame({"item": cols, "loading": lam, "uniqueness": u2, "flipped": flipped})
    return OmegaResult(
        omega_total=float((vt - u2.sum()) / vt),
        omega_h=float(lam.sum() ** 2 / vt),
        std_alpha=_std_alpha(R),
        loadings=table,
        n=int(mom.n_rows),
        k=k,
    )
