"""Equity tables: outcomes by race/ethnicity, language, gender and age band, with CIs.

Every group is reported with its ``n``; "prefer not to say" and missing answers are groups
of their own (never dropped), multi-select race/ethnicity follows an explicit documented
rule, and small groups are suppressed by default (:mod:`rapport.psychometrics.suppression`).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from rapport.psychometrics._validation import (
    as_column_list,
    check_choice,
    check_dataframe,
    check_positive_int,
    check_probability,
)
from rapport.psychometrics.suppression import suppression_mask

__all__ = [
    "age_band",
    "diff_means_welch",
    "diff_proportions_newcombe",
    "equity",
    "mean_ci",
    "proportion_ci",
]

_COLUMNS = [
    "characteristic",
    "group",
    "membership",
    "outcome",
    "kind",
    "n",
    "estimate",
    "ci_low",
    "ci_high",
    "reference",
    "n_reference",
    "difference",
    "diff_ci_low",
    "diff_ci_high",
    "suppressed",
]


# --------------------------------------------------------------------------------------
# interval estimators
# --------------------------------------------------------------------------------------


# Quantiles are looked up again and again with the same arguments (one interval per
# therapist or group); scipy's ppf costs tens of microseconds a call.
@functools.lru_cache(maxsize=4096)
def _t_quantile(q: float, df: int) -> float:
    return stats.t.ppf(q, df)


@functools.lru_cache(maxsize=64)
def _normal_quantile(q: float) -> float:
    return stats.norm.ppf(q)


def mean_ci(values: Iterable[float], ci: float = 0.95) -> tuple[float, float, float]:
    """Mean with a t-based confidence interval: mean ± t(1 - a/2, n - 1) · s / sqrt(n).

    Returns ``(mean, low, high)``; the interval is NaN when n < 2.

    >>> [round(v, 3) for v in mean_ci([20, 24, 26, 30])]
    [25.0, 18.375, 31.625]
    """
    x = np.asarray(list(values), dtype=float)
    n = len(x)
    if n == 0:
        return (float("nan"),) * 3
    m = float(x.mean())
    if n < 2:
        return m, float("nan"), float("nan")
    half = float(_t_quantile(0.5 + ci / 2, n - 1) * x.std(ddof=1) / np.sqrt(n))
    return m, m - half, m + half


def proportion_ci(
    successes: int, n: int, ci: float = 0.95, method: str = "wilson"
) -> tuple[float, float, float]:
    """Proportion with a Wilson score (default) or exact Clopper-Pearson interval.

    Wilson: (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = Φ⁻¹(1 - a/2)
    (Wilson 1927; Newcombe 1998a method 3).  Exact: Beta(a/2; x, n-x+1) and
    Beta(1-a/2; x+1, n-x) quantiles (Clopper & Pearson 1934).  Returns ``(p, low, high)``.

    >>> [round(v, 4) for v in proportion_ci(81, 263)]
    [0.308, 0.2553, 0.3662]
    """
    check_choice(method, "method", ("wilson", "exact"))
    if n <= 0:
        return (float("nan"),) * 3
    p = successes / n
    if method == "exact":
        a = 1 - ci
        lo = 0.0 if successes == 0 else float(stats.beta.ppf(a / 2, successes, n - successes + 1))
        hi = (
            1.0
            if successes == n
            else float(stats.beta.ppf(1 - a / 2, successes + 1, n - successes))
        )
        return p, lo, hi
    z = _normal_quantile(0.5 + ci / 2)
    centre = p + z * z / (2 * n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return p, float((centre - half) / denom), float((centre + half) / denom)


def diff_means_welch(
    x: Iterable[float], y: Iterable[float], ci: float = 0.95
) -> tuple[float, float, float]:
    """Difference of means x̄ - ȳ with the Welch (unequal-variance) t interval.

    se = sqrt(s_x²/n_x + s_y²/n_y); Welch-Satterthwaite
    df = se⁴ / ((s_x²/n_x)²/(n_x-1) + (s_y²/n_y)²/(n_y-1)).  Returns
    ``(difference, low, high)``; NaN limits if either group has fewer than 2 values.

    >>> d, lo, hi = diff_means_welch([30, 32, 35, 31], [25, 27, 22, 26, 24])
    >>> round(d, 3), round(lo, 3), round(hi, 3)
    (7.2, 3.842, 10.558)
    """
    a = np.asarray(list(x), dtype=float)
    b = np.asarray(list(y), dtype=float)
    if len(a) == 0 or len(b) == 0:
        return (float("nan"),) * 3
    d = float(a.mean() - b.mean())
    if len(a) < 2 or len(b) < 2:
        return d, float("nan"), float("nan")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = np.sqrt(va + vb)
    if se == 0:
        return d, d, d
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + ci / 2, df) * se)
    return d, d - half, d + half


def diff_proportions_newcombe(
    x1: int, n1: int, x2: int, n2: int, ci: float = 0.95
) -> tuple[float, float, float]:
    """Difference of proportions p1 - p2 with Newcombe's hybrid score interval.

    With Wilson limits (l1, u1) and (l2, u2):
    low = d - sqrt((p1 - l1)² + (u2 - p2)²), high = d + sqrt((u1 - p1)² + (p2 - l2)²)
    (Newcombe 1998b, method 10).

    >>> [round(v, 4) for v in diff_proportions_newcombe(56, 70, 48, 80)]
    [0.2, 0.0524, 0.3339]
    """
    if n1 <= 0 or n2 <= 0:
        return (float("nan"),) * 3
    p1, l1, u1 = proportion_ci(x1, n1, ci)
    p2, l2, u2 = proportion_ci(x2, n2, ci)
    d = p1 - p2
    return (
        d,
        float(d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)),
        float(d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)),
    )


# --------------------------------------------------------------------------------------
# grouping
# --------------------------------------------------------------------------------------


def age_band(
    age: Iterable[Any],
    edges: Sequence[int] = (18, 25, 35, 45, 55, 65),
    *,
    missing_label: str = "Missing",
) -> pd.Series:
    """Label ages with bands ``"<18", "18-24", ..., "65+"``; missing ages get ``missing_label``.

    Each band includes its lower edge and excludes the next edge.

    >>> age_band([17, 18, 24.9, 25, 70, None]).tolist()
    ['<18', '18-24', '18-24', '25-34', '65+', 'Missing']
    """
    edges = [int(e) for e in edges]
    if not edges or any(b <= a for a, b in itertools.pairwise(edges)):
        raise ValueError(f"edges must be strictly increasing; got {edges!r}")
    labels = [f"<{edges[0]}"]
    labels += [f"{a}-{b - 1}" for a, b in itertools.pairwise(edges)]
    labels.append(f"{edges[-1]}+")
    values = pd.to_numeric(pd.Series(list(age), dtype=object), errors="coerce")
    if (values < 0).any():
        raise ValueError("age: negative values")
    idx = np.searchsorted(
        np.asarray(edges, dtype=float), values.to_numpy(dtype=float), side="right"
    )
    out = [missing_label if np.isnan(v) else labels[i] for v, i in zip(values, idx, strict=True)]
    return pd.Series(out, index=age.index if isinstance(age, pd.Series) else None, dtype=object)


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    if value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, str) and value.strip() == ""


def _selections(value: Any, sep: str) -> list[str]:
    """Normalise one multi-select answer to a sorted list of distinct labels."""
    if _is_missing(value):
        return []
    if isinstance(value, str):
        parts = value.split(sep)
    elif isinstance(value, Iterable):
        parts = [str(v) for v in value if not _is_missing(v)]
    else:
        parts = [str(value)]
    return sorted({p.strip() for p in parts if p.strip()})


def _memberships(
    column: pd.Series,
    *,
    multi: bool,
    sep: str,
    missing_label: str,
    multiple_label: str,
    not_counted: set[str],
) -> list[tuple[str, str, np.ndarray]]:
    """(group label, membership rule, boolean row mask) for one characteristic.

    Labels and selections are worked out once per distinct answer and spread to the
    rows by index: the same masks as row by row, at the cost of one pass.
    """
    uniques, codes = _distinct(list(column))
    n = len(codes)
    groups: list[tuple[str, str, np.ndarray]] = []
    if not multi:
        unique_labels = np.array(
            [missing_label if _is_missing(v) else str(v) for v in uniques], dtype=object
        )
        labels = unique_labels[codes]
        for lab in sorted(set(unique_labels.tolist()) - {missing_label}):
            groups.append((lab, "exclusive", labels == lab))
        if (labels == missing_label).any():
            groups.append((missing_label, "exclusive", labels == missing_label))
        return groups

    def per_row(flags: Iterable[bool]) -> np.ndarray:
        row_flags: np.ndarray = np.fromiter(flags, dtype=bool, count=len(uniques))[codes]
        return row_flags

    picked = [_selections(v, sep) for v in uniques]
    categories = sorted({c for p in picked for c in p} - {missing_label})
    substantive = [c for c in categories if c not in not_counted]
    for cat in substantive:
        groups.append((cat, "any mention", per_row(cat in p for p in picked)))
    multiple = per_row(len(set(p) - not_counted - {missing_label}) >= 2 for p in picked)
    if multiple.any():
        groups.append((multiple_label, "two or more", multiple))
    for cat in [c for c in categories if c in not_counted]:
        groups.append((cat, "any mention", per_row(cat in p for p in picked)))
    missing = per_row(not p or p == [missing_label] for p in picked)
    if missing.any():
        groups.append((missing_label, "exclusive", missing))
    if len(groups) == 0:  # pragma: no cover - n > 0 always yields some group
        groups.append((missing_label, "exclusive", np.ones(n, dtype=bool)))
    return groups


def _distinct(values: list[Any]) -> tuple[list[Any], np.ndarray]:
    """The distinct values (equal type and value; lists and tuples by their items) and,
    for each value, the index of its distinct value. Unhashable values stay apart."""
    index: dict[Any, int] = {}
    uniques: list[Any] = []
    codes = np.empty(len(values), dtype=np.intp)
    for row, value in enumerate(values):
        key: Any = (type(value), tuple(value)) if isinstance(value, list | tuple) else (
            type(value), value
        )  # fmt: skip
        try:
            code = index.get(key)
        except TypeError:  # unhashable (a set, a dict): its own entry
            key, code = None, None
        if code is None:
            code = len(uniques)
            uniques.append(value)
            if key is not None:
                index[key] = code
        codes[row] = code
    return uniques, codes


# --------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------


def equity(
    data: pd.DataFrame,
    outcomes: str | Sequence[str],
    by: str | Sequence[str],
    *,
    kind: str | Mapping[str, str] | None = None,
    reference: Mapping[str, str] | None = None,
    multi_select: str | Sequence[str] | None = None,
    sep: str = ";",
    not_counted: Sequence[str] = ("Prefer not to say",),
    missing_label: str = "Missing",
    multiple_label: str = "Multiracial",
    ci: float = 0.95,
    proportion_method: str = "wilson",
    nan_policy: str = "pairwise",
    min_cell: int | None = 11,
    blank: bool = True,
) -> pd.DataFrame:
    """Outcome means and proportions by group, with CIs and differences from a reference.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per client (or episode).
    outcomes : str or sequence of str
        Numeric outcome columns (e.g. ORS change, a 0/1 dropout or recovery indicator).
    by : str or sequence of str
        Grouping characteristics, e.g. ``["race", "language", "gender", "age_band"]``
        (see :func:`age_band`).
    kind : {"mean", "proportion"} or mapping outcome -> kind, optional
        Default: "proportion" for outcomes whose values are all 0/1 (or boolean),
        "mean" otherwise.
    reference : mapping characteristic -> group label, optional
        Reference group of each characteristic for the differences.  Default: the
        largest group (ties: the first label in sort order), excluding the missing and
        multiple-selection groups.  Choose it explicitly for published reports.
    multi_select : str or sequence of str, optional
        Characteristics whose answers may hold several categories: a list/tuple/set
        per client, or a string joined by ``sep``.  See Notes.
    sep : str, default ";"
        Separator of multi-select answers given as strings.
    not_counted : sequence of str, default ("Prefer not to say",)
        Multi-select answers that are kept as their own group but do not count towards
        ``multiple_label``.
    missing_label : str, default "Missing"
        Group label for missing answers (NaN, None, empty string, empty selection).
    multiple_label : str, default "Multiracial"
        Group label for clients selecting two or more categories of a multi-select
        characteristic.
    ci : float, default 0.95
        Confidence level.
    proportion_method : {"wilson", "exact"}, default "wilson"
        Interval for a single proportion (Wilson score or Clopper-Pearson).  Differences
        of proportions always use Newcombe's hybrid score interval (built on Wilson).
    nan_policy : {"pairwise", "listwise"}, default "pairwise"
        "pairwise": a client with a missing outcome is left out of that outcome only (so
        ``n`` can differ between outcomes); "listwise": clients missing any outcome are
        left out of all, so every outcome has the same ``n`` (no small "missing outcome"
        counts can be derived by subtracting two ``n``).
    min_cell : int or None, default 11
        Suppress groups with fewer clients (and their complements) with
        :func:`rapport.psychometrics.suppression.suppression_mask`; ``None`` disables
        suppression (internal use only: never publish such a table).
    blank : bool, default True
        With False the figures that ``min_cell`` would hide are kept, ``suppressed``
        says whether publishing hides the row's statistics, and a column
        ``suppression`` says for each row what publishing it would hide and why:
        ``"primary"`` (a group of 1 to ``min_cell - 1``), ``"complementary"`` (hidden so
        that a small group cannot be worked out), ``"reference"`` (only the difference,
        because the reference group is hidden) or ``""`` (nothing). For callers that
        show exact figures to some readers and blank them for others themselves.

    Returns
    -------
    pandas.DataFrame
        One row per characteristic x group x outcome:

        * ``characteristic``, ``group``
        * ``membership`` : "exclusive", "any mention" (multi-select category, alone or
          with others) or "two or more" (the ``multiple_label`` group)
        * ``outcome``, ``kind`` ("mean" or "proportion")
        * ``n`` : clients in the group with a non-missing outcome (``<NA>`` if suppressed)
        * ``estimate``, ``ci_low``, ``ci_high`` : mean (t interval) or proportion
          (Wilson/exact interval)
        * ``reference``, ``n_reference`` : the reference group and its n
        * ``difference``, ``diff_ci_low``, ``diff_ci_high`` : group minus reference (Welch
          interval for means, Newcombe for proportions); NaN on the reference row itself
        * ``suppressed`` : True if the row's statistics are hidden

    Notes
    -----
    **Multi-select rule.** A client who selects two categories (say "Black" and "White")
    is counted in *each* selected category's "any mention" group (alone or in
    combination, as the US Census "alone or in combination" tabulation does) **and**
    in the ``multiple_label`` group.  Groups therefore overlap and their ``n`` do not
    add up to the number of clients.  "Prefer not to say" (``not_counted``) is its own
    group and never makes a client multiracial; a missing answer is the
    ``missing_label`` group.  For overlapping groups the Welch/Newcombe intervals, which
    assume independent groups, are conservative (shared clients make the two estimates
    positively correlated, which reduces the variance of the difference).

    **Missing and undisclosed answers** are explicit groups, never dropped.

    **Suppression.** Within each characteristic x outcome the group ``n`` form a
    one-way table with its total, suppressed by the CMS rule (1-10 hidden) with
    complementary suppression; a suppressed row loses ``n``, estimate and CIs and its
    difference; if the reference is suppressed every difference in the block is hidden.
    For multi-select characteristics no exact additive relation holds; the same rule is
    applied anyway (conservative).

    References
    ----------
    Welch, B. L. (1947). The generalization of "Student's" problem when several different
    population variances are involved. *Biometrika*, 34, 28-35.

    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA*, 22, 209-212.

    Clopper, C. J., & Pearson, E. S. (1934). The use of confidence or fiducial limits
    illustrated in the case of the binomial. *Biometrika*, 26, 404-413.

    Newcombe, R. G. (1998a). Two-sided confidence intervals for the single proportion:
    comparison of seven methods. *Stat Med*, 17, 857-872.

    Newcombe, R. G. (1998b). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. *Stat Med*, 17, 873-890.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from rapport.psychometrics.equity import equity
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({
    ...     "language": rng.choice(["English", "Spanish"], 200, p=[0.6, 0.4]),
    ...     "dropout": rng.integers(0, 2, 200),
    ... })
    >>> res = equity(df, "dropout", "language")
    >>> res[["group", "n", "estimate", "ci_low", "ci_high", "difference"]].round(3)
         group    n  estimate  ci_low  ci_high  difference
    0  English  110     0.455   0.365    0.548         NaN
    1  Spanish   90     0.567   0.464    0.664       0.112

    Multi-select answers ("Black;White" counts as Black, as White and as Multiracial);
    suppression is switched off here only because the toy groups are tiny:

    >>> race = pd.DataFrame({
    ...     "race": ["White", "Black;White", "Asian", None, "Prefer not to say", "Black"] * 3,
    ...     "ors_change": [5.0, 3, 8, 2, 4, 6, 7, 1, 9, 3, 5, 5, 6, 2, 7, 4, 3, 8],
    ... })
    >>> r = equity(race, "ors_change", "race", multi_select="race",
    ...            reference={"race": "White"}, min_cell=None)
    >>> r[["group", "membership", "n", "estimate", "difference"]].round(2)
                   group   membership  n  estimate  difference
    0              Asian  any mention  3      8.00        4.00
    1              Black  any mention  6      4.17        0.17
    2              White  any mention  6      4.00         NaN
    3        Multiracial  two or more  3      2.00       -2.00
    4  Prefer not to say  any mention  3      4.00        0.00
    5            Missing    exclusive  3      3.00       -1.00
    """
    outcome_cols = as_column_list(outcomes, name="outcomes")
    by_cols = as_column_list(by, name="by")
    multi_cols = set(as_column_list(multi_select, name="multi_select"))
    ci = check_probability(ci, "ci")
    check_choice(proportion_method, "proportion_method", ("wilson", "exact"))
    check_choice(nan_policy, "nan_policy", ("pairwise", "listwise"))
    if min_cell is not None:
        check_positive_int(min_cell, "min_cell", minimum=1)
    if not by_cols:
        raise ValueError("by: give at least one grouping characteristic")
    overlap = set(outcome_cols) & set(by_cols)
    if overlap:
        raise ValueError(f"column(s) used both as outcome and grouping: {sorted(overlap)}")
    out_df = check_dataframe(data, outcome_cols, numeric=True, min_rows=1)
    missing_by = [c for c in by_cols if c not in data.columns]
    if missing_by:
        raise ValueError(f"data: grouping column(s) not found: {missing_by}")
    unknown_multi = multi_cols - set(by_cols)
    if unknown_multi:
        raise ValueError(f"multi_select column(s) not in by: {sorted(unknown_multi)}")
    kinds = _resolve_kinds(out_df, outcome_cols, kind)
    reference = dict(reference or {})
    unknown_ref = set(reference) - set(by_cols)
    if unknown_ref:
        raise ValueError(f"reference given for unknown characteristic(s): {sorted(unknown_ref)}")

    y_all = out_df.to_numpy(dtype=float, na_value=np.nan)
    if nan_policy == "listwise":
        y_all[np.isnan(y_all).any(axis=1)] = np.nan
    rows: list[dict[str, Any]] = []
    for char in by_cols:
        groups = _memberships(
            data[char],
            multi=char in multi_cols,
            sep=sep,
            missing_label=missing_label,
            multiple_label=multiple_label,
            not_counted=set(not_counted),
        )
        eligible = [
            (lab, m) for lab, rule, m in groups if lab != missing_label and rule != "two or more"
        ]
        if char in reference:
            ref = reference[char]
            if ref not in [lab for lab, _, _ in groups]:
                raise ValueError(f"reference group {ref!r} not found in {char!r}")
        elif eligible:
            ref = sorted(eligible, key=lambda t: (-int(t[1].sum()), t[0]))[0][0]
        else:
            ref = None
        ref_mask = next((m for lab, _, m in groups if lab == ref), None)
        for k, col in enumerate(outcome_cols):
            y = y_all[:, k]
            ok = ~np.isnan(y)
            ref_y = y[ref_mask & ok] if ref_mask is not None else np.array([])
            block = []
            for lab, rule, m in groups:
                vals = y[m & ok]
                block.append(
                    _row(char, lab, rule, col, kinds[col], vals, ref, ref_y, ci, proportion_method)
                )
            rows.extend(_suppress_block(block, ref, min_cell, blank=blank))
    columns = _COLUMNS if blank else [*_COLUMNS, "suppression"]
    return pd.DataFrame(rows, columns=columns).astype({"n": "Int64", "n_reference": "Int64"})


def _resolve_kinds(
    out_df: pd.DataFrame, cols: list[str], kind: str | Mapping[str, str] | None
) -> dict[str, str]:
    kinds: dict[str, str] = {}
    for c in cols:
        k = kind.get(c) if isinstance(kind, Mapping) else kind
        vals = out_df[c].dropna().to_numpy(dtype=float)
        binary = bool(np.isin(vals, (0.0, 1.0)).all())
        if k is None:
            k = "proportion" if binary else "mean"
        check_choice(k, f"kind for {c!r}", ("mean", "proportion"))
        if k == "proportion" and not binary:
            raise ValueError(f"outcome {c!r}: a proportion outcome must be coded 0/1")
        kinds[c] = k
    return kinds


def _row(
    char: str,
    lab: str,
    rule: str,
    col: str,
    kind: str,
    vals: np.ndarray,
    ref: str | None,
    ref_y: np.ndarray,
    ci: float,
    method: str,
) -> dict[str, Any]:
    n = len(vals)
    if kind == "mean":
        est, lo, hi = mean_ci(vals, ci)
        diff = diff_means_welch(vals, ref_y, ci)
    else:
        est, lo, hi = proportion_ci(int(vals.sum()), n, ci, method)
        diff = diff_proportions_newcombe(int(vals.sum()), n, int(ref_y.sum()), len(ref_y), ci)
    if lab == ref or ref is None:
        diff = (float("nan"),) * 3
    return {
        "characteristic": char,
        "group": lab,
        "membership": rule,
        "outcome": col,
        "kind": kind,
        "n": n,
        "estimate": est,
        "ci_low": lo,
        "ci_high": hi,
        "reference": ref,
        "n_reference": len(ref_y) if ref is not None else pd.NA,
        "difference": diff[0],
        "diff_ci_low": diff[1],
        "diff_ci_high": diff[2],
        "suppressed": False,
    }


def _suppress_block(
    block: list[dict[str, Any]], ref: str | None, min_cell: int | None, *, blank: bool = True
) -> list[dict[str, Any]]:
    if min_cell is None:
        if not blank:
            for r in block:
                r["suppression"] = ""
        return block
    counts = pd.Series([r["n"] for r in block])
    mask = suppression_mask(counts, threshold=min_cell, total_label="__total__")
    hidden = mask.iloc[: len(block)].to_numpy()
    ref_hidden = any(h for r, h in zip(block, hidden, strict=True) if r["group"] == ref)
    nan = float("nan")
    for r, h in zip(block, hidden, strict=True):
        if not blank:
            r["suppressed"] = bool(h)
            if h:
                r["suppression"] = "primary" if 1 <= r["n"] < min_cell else "complementary"
            else:
                r["suppression"] = "reference" if ref_hidden else ""
            continue
        if h:
            r.update(n=pd.NA, estimate=nan, ci_low=nan, ci_high=nan, suppressed=True)
        if h or ref_hidden:
            r.update(difference=nan, diff_ci_low=nan, diff_ci_high=nan)
        if ref_hidden:
            r["n_reference"] = pd.NA
    return block
