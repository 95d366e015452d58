"""Pearson correlation with a Fisher-z interval, and tests against published correlations.

Typical question: "is our trust-alliance correlation different from the
published .53?"  Two readings of that question are supported:

- the published value is treated as a fixed population value rho0
  (:func:`compare_fixed`), or
- it is an estimate from an independent sample of size n2 (:func:`compare_independent`,
  as ``psych::r.test(n, r12, r34, n2)``).

Checked against R ``cor.test`` and ``psych::r.test`` to 1e-9 (tests/reference).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rapport.psychometrics._validation import check_dataframe, check_probability

__all__ = [
    "ComparisonResult",
    "CorrelationResult",
    "compare_fixed",
    "compare_independent",
    "correlate",
    "fisher_ci",
]


def _num(v: float) -> float | None:
    return None if not np.isfinite(v) else float(v)


def _check_r(r: Any, name: str) -> float:
    try:
        v = float(r)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a correlation between -1 and 1; got {r!r}") from None
    if not -1.0 < v < 1.0:
        raise ValueError(f"{name} must be strictly between -1 and 1; got {r!r}")
    return v


def _check_n(n: Any, name: str, minimum: int = 4) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {n!r}")
    return int(n)


@dataclass(frozen=True)
class ComparisonResult:
    """Test of a sample correlation against another correlation.

    Attributes
    ----------
    r, n : float, int
        The sample correlation and its sample size.
    r0 : float
        The correlation compared with.
    n0 : int or None
        Its sample size (None when treated as a fixed population value).
    z : float
        Signed test statistic (positive when r > r0).  psych's ``r.test`` reports |z|.
    p : float
        Two-sided normal p-value.
    method : str
        ``"fixed"`` or ``"independent"``.
    """

    r: float
    n: int
    r0: float
    n0: int | None
    z: float
    p: float
    method: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``r0, n0, z, p, method``."""
        return {"r0": self.r0, "n0": self.n0, "z": _num(self.z), "p": _num(self.p),
                "method": self.method}  # fmt: skip


@dataclass(frozen=True)
class CorrelationResult:
    """Pearson correlation (see :func:`correlate`).

    Attributes
    ----------
    x, y : str
        Column names.
    n : int
        Complete pairs used.
    r : float
        Pearson correlation.
    ci : (float, float)
        Fisher-z confidence interval at level ``ci_level`` (NaN when n <= 3).
    t, df, p : float, int, float
        t statistic r·sqrt(df/(1 - r²)), df = n - 2, two-sided p.
    compare : ComparisonResult or None
        Test against a published correlation, if requested.
    """

    x: str
    y: str
    n: int
    r: float
    ci: tuple[float, float]
    ci_level: float
    t: float
    df: int
    p: float
    compare: ComparisonResult | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready dict: ``n, r, ci, p, t, df, ci_level, compare``."""
        return {
            "n": self.n,
            "r": _num(self.r),
            "ci": [_num(self.ci[0]), _num(self.ci[1])],
            "p": _num(self.p),
            "t": _num(self.t),
            "df": self.df,
            "ci_level": self.ci_level,
            "compare": None if self.compare is None else self.compare.as_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One-row tidy DataFrame: ``x, y, n, r, ci_low, ci_high, t, df, p_val``.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"trust": [3, 4, 2, 5, 4, 3, 5, 1, 2, 4],
        ...                    "alliance": [30, 35, 28, 38, 31, 33, 36, 25, 29, 30]})
        >>> print(correlate(df, "trust", "alliance").to_frame().round(4).to_string(index=False))
            x        y  n      r  ci_low  ci_high      t  df  p_val
        trust alliance 10 0.8873  0.5838   0.9732 5.4416   8 0.0006
        """
        return pd.DataFrame(
            {
                "x": [self.x],
                "y": [self.y],
                "n": [self.n],
                "r": [self.r],
                "ci_low": [self.ci[0]],
                "ci_high": [self.ci[1]],
                "t": [self.t],
                "df": [self.df],
                "p_val": [self.p],
            }
        )


def fisher_ci(r: float, n: int, ci: float = 0.95) -> tuple[float, float]:
    """Fisher-z confidence interval for a Pearson correlation.

    Parameters
    ----------
    r : float
        Sample correlation, -1 <= r <= 1.
    n : int
        Sample size; the interval needs n > 3 (NaN otherwise, as R omits it).
    ci : float, default 0.95
        Confidence level.

    Returns
    -------
    (lower, upper) : tuple of float

    Notes
    -----
    tanh(atanh(r) ± z_{(1+ci)/2} / sqrt(n - 3)), as R's ``cor.test`` and
    ``psych::r.con`` (Fisher 1921).

    Examples
    --------
    >>> [round(v, 4) for v in fisher_ci(0.567108, 300)]
    [0.485, 0.6393]
    """
    ci = check_probability(ci, "ci")
    if not -1.0 <= r <= 1.0:
        raise ValueError(f"r must be between -1 and 1; got {r!r}")
    if n <= 3:
        return (float("nan"), float("nan"))
    half = stats.norm.ppf((1.0 + ci) / 2.0) / np.sqrt(n - 3.0)
    with np.errstate(divide="ignore"):
        z = np.arctanh(r)
    return float(np.tanh(z - half)), float(np.tanh(z + half))


def compare_fixed(r: float, n: int, rho0: float) -> ComparisonResult:
    """Test a sample correlation against a published value treated as fixed (rho0).

    Parameters
    ----------
    r : float
        Sample correlation.
    n : int
        Its sample size (>= 4).
    rho0 : float
        Published correlation, taken as the population value.

    Returns
    -------
    ComparisonResult
        ``z = (atanh r - atanh rho0) sqrt(n - 3)``, two-sided normal p.

    Notes
    -----
    Ignores the sampling error of the published value; use
    :func:`compare_independent` when its sample size is known and small.

    References
    ----------
    Fisher, R. A. (1921). On the "probable error" of a coefficient of correlation
    deduced from a small sample. *Metron*, 1, 3-32.

    Examples
    --------
    >>> res = compare_fixed(0.567108, 300, 0.53)
    >>> round(res.z, 3), round(res.p, 3)
    (0.915, 0.36)
    """
    r = _check_r(r, "r")
    rho0 = _check_r(rho0, "rho0")
    n = _check_n(n, "n")
    z = (np.arctanh(r) - np.arctanh(rho0)) * np.sqrt(n - 3.0)
    p = 2.0 * stats.norm.sf(abs(z))
    return ComparisonResult(r, n, rho0, None, float(z), float(p), "fixed")


def compare_independent(r: float, n: int, r2: float, n2: int) -> ComparisonResult:
    """Compare correlations from two independent samples (``psych::r.test(n, r12, r34, n2)``).

    Parameters
    ----------
    r, n : float, int
        Our correlation and sample size (n >= 4).
    r2, n2 : float, int
        The other (e.g. published) correlation and its sample size (n2 >= 4).

    Returns
    -------
    ComparisonResult
        ``z = (atanh r - atanh r2) / sqrt(1/(n - 3) + 1/(n2 - 3))``, two-sided normal
        p.  z is signed here; psych reports |z| (same p).

    References
    ----------
    Cohen, J., Cohen, P., West, S. G., & Aiken, L. S. (2003). *Applied multiple
    regression/correlation analysis* (3rd ed.), section 2.8.

    Examples
    --------
    >>> res = compare_independent(0.567108, 300, 0.53, 200)
    >>> round(res.z, 3), round(res.p, 3)
    (0.578, 0.563)
    """
    r = _check_r(r, "r")
    r2 = _check_r(r2, "r2")
    n = _check_n(n, "n")
    n2 = _check_n(n2, "n2")
    z = (np.arctanh(r) - np.arctanh(r2)) / np.sqrt(1.0 / (n - 3.0) + 1.0 / (n2 - 3.0))
    p = 2.0 * stats.norm.sf(abs(z))
    return ComparisonResult(r, n, r2, n2, float(z), float(p), "independent")


def correlate(
    data: pd.DataFrame,
    x: str,
    y: str,
    *,
    ci: float = 0.95,
    r0: float | None = None,
    n0: int | None = None,
) -> CorrelationResult:
    """Pearson correlation of two columns with Fisher-z CI and t-test, as R's ``cor.test``.

    Parameters
    ----------
    data : pandas.DataFrame
        Input table.
    x, y : str
        Numeric columns.  Rows where either is missing are dropped (complete pairs).
    ci : float, default 0.95
        Confidence level.
    r0 : float, optional
        A published correlation to compare with.  Without ``n0`` it is treated as
        a fixed population value (:func:`compare_fixed`); with ``n0`` as an
        independent sample's estimate (:func:`compare_independent`).
    n0 : int, optional
        Sample size behind ``r0``.

    Returns
    -------
    CorrelationResult
        ``.n, .r, .ci, .t, .df, .p, .compare``; ``.as_dict()``, ``.to_frame()``.

    Raises
    ------
    ValueError
        Missing or non-numeric columns, fewer than 3 complete pairs, or a column
        without variance among the complete pairs.

    Notes
    -----
    r = Σ(x - x̄)(y - ȳ) / sqrt(Σ(x - x̄)² Σ(y - ȳ)²); t = r sqrt((n - 2)/(1 - r²))
    with n - 2 df (two-sided p); CI from :func:`fisher_ci`.  Matches
    ``cor.test(x, y)`` to 1e-9 (tested).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"trust": [3, 4, 2, 5, 4, 3, 5, 1, 2, 4],
    ...                    "alliance": [30, 35, 28, 38, 31, 33, 36, 25, 29, 30]})
    >>> res = correlate(df, "trust", "alliance", r0=0.53)
    >>> round(res.r, 4), [round(v, 4) for v in res.ci], round(res.p, 6)
    (0.8873, [0.5838, 0.9732], 0.000615)
    >>> round(res.compare.z, 3), round(res.compare.p, 4)
    (2.167, 0.0303)

    R gives the same: ``cor.test(df$trust, df$alliance)``.
    """
    ci = check_probability(ci, "ci")
    if x == y:
        raise ValueError("x and y must be different columns")
    df = check_dataframe(data, [x, y], numeric=True, min_rows=3)
    xy = df.to_numpy(dtype=np.float64, na_value=np.nan)
    xy = xy[~np.isnan(xy).any(axis=1)]
    n = xy.shape[0]
    if n < 3:
        raise ValueError(f"at least 3 complete pairs of {x!r} and {y!r} are needed, got {n}")
    d = xy - xy.mean(axis=0)
    sxx, syy = (d * d).sum(axis=0)
    if not (sxx > 0 and syy > 0):
        which = x if not sxx > 0 else y
        raise ValueError(f"column {which!r} has no variance among the {n} complete pairs")
    r = float(np.clip((d[:, 0] * d[:, 1]).sum() / np.sqrt(sxx * syy), -1.0, 1.0))
    dof = n - 2
    with np.errstate(divide="ignore"):
        t = r * np.sqrt(dof / (1.0 - r * r)) if abs(r) < 1 else np.copysign(np.inf, r)
    p = float(2.0 * stats.t.sf(abs(t), dof))
    compare = None
    if r0 is not None:
        if n < 4:
            raise ValueError(f"comparing correlations needs at least 4 complete pairs, got {n}")
        if abs(r) >= 1:
            raise ValueError("cannot compare a perfect correlation (|r| = 1)")
        compare = compare_fixed(r, n, r0) if n0 is None else compare_independent(r, n, r0, n0)
    return CorrelationResult(
        x=str(x),
        y=str(y),
        n=n,
        r=r,
        ci=fisher_ci(r, n, ci),
        ci_level=ci,
        t=float(t),
        df=dof,
        p=p,
        compare=compare,
    )
