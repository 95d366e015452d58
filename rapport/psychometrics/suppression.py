"""Small-cell suppression for published counts (CMS cell-size rule) with complementary suppression.

The CMS Cell Size Suppression Policy says that "no cell ... containing a value of 1 to 10
can be reported directly" (zero is allowed) and that "no cell can be reported that allows
a value of 1 to 10 to be derived from other reported cells or information", including
totals and percentages.  This module applies

1. **primary suppression**: every count in ``1 .. threshold - 1`` (default 1-10), margins
   included;
2. **complementary (secondary) suppression**: in every row and column of the table
   *with its margins* ("line"), if exactly one entry is suppressed, or the suppressed
   entries add up (derivably, from the shown margin) to a value in ``1 .. threshold - 1``,
   the smallest non-zero shown entry of that line is suppressed too; repeated to a fixed
   point (the standard hypercube-free heuristic, cf. Hundepool et al. 2012, ch. 4);
3. an **audit** by linear programming: for every suppressed entry, the smallest and the
   largest value consistent with the shown entries, the additivity of the table and
   non-negativity are computed with ``scipy.optimize.linprog`` (HiGHS).  An entry is
   protected when that interval is not a single point and, for a primary (1-10) entry,
   its upper end reaches ``threshold`` (so nobody can tell that the cell is a small count
   from the published numbers).  Each unprotected entry triggers one more suppression
   in its row or column and the whole procedure repeats.

The additive relations of a two-way table are network constraints, so the LP bounds are
integers and equal the integer (exact) bounds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from rapport.psychometrics._validation import as_column_list, check_positive_int

__all__ = [
    "DEFAULT_THRESHOLD",
    "feasible_ranges",
    "may_replace",
    "percentages",
    "suppress_counts",
    "suppress_rows",
    "suppression_mask",
]

#: Minimum reportable count (CMS: values 1 to 10 are not reportable).
DEFAULT_THRESHOLD = 11


def may_replace(
    previous_n: int | None, current_n: int | None, threshold: int = DEFAULT_THRESHOLD
) -> bool:
    """Whether a figure recomputed on ``current_n`` people may replace the one published on
    ``previous_n`` people (``None``, a suppressed n, counts as 0).

    Suppressing each release on its own does not protect against *differencing*: two
    releases of the same figure whose groups differ by a few people give those people's
    values (a mean over n = 58 and then n = 59 gives the 59th person's answer as
    59 * mean2 - 58 * mean1). The CMS rule's "derived from other reported cells or
    information" covers earlier releases too, so a changed figure is released only once
    its group has moved by at least ``threshold`` people (disclosure by
    differencing; Hundepool et al. 2012, *Statistical Disclosure Control*, Wiley).

    >>> may_replace(58, 59), may_replace(58, 69), may_replace(None, 12)
    (False, True, True)
    """
    check_positive_int(threshold, "threshold")
    return abs((current_n or 0) - (previous_n or 0)) >= threshold


# --------------------------------------------------------------------------------------
# core algorithm on a numpy "augmented" table (margins included)
# --------------------------------------------------------------------------------------


def _lines(shape: tuple[int, int]) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Additive lines of an augmented (I+1) x (J+1) table: (interior entries, margin entry).

    Row i of the augmented table (including the margin row I) satisfies
    sum_j a[i, j] (j < J) = a[i, J]; column j likewise with the margin row.
    """
    n_i, n_j = shape
    if n_j == 1:  # one-way table: a single column with its total
        return [([(i, 0) for i in range(n_i - 1)], (n_i - 1, 0))]
    out = []
    for i in range(n_i):
        out.append(([(i, j) for j in range(n_j - 1)], (i, n_j - 1)))
    for j in range(n_j):
        out.append(([(i, j) for i in range(n_i - 1)], (n_i - 1, j)))
    return out


def _augment(values: np.ndarray) -> np.ndarray:
    """Append row sums, column sums and the grand total to a 2-D count array."""
    rows = values.sum(axis=1, keepdims=True)
    top = np.hstack((values, rows))
    bottom = np.append(values.sum(axis=0), values.sum())[None, :]
    return np.vstack((top, bottom))


def _ranges(
    aug: np.ndarray, mask: np.ndarray, lines: list[tuple[list[tuple[int, int]], tuple[int, int]]]
) -> tuple[np.ndarray, np.ndarray]:
    """LP lower/upper bounds of every suppressed entry (NaN elsewhere, inf if unbounded)."""
    idx = [(int(i), int(j)) for i, j in np.argwhere(mask)]
    pos = {ij: k for k, ij in enumerate(idx)}
    lo = np.full(aug.shape, np.nan)
    hi = np.full(aug.shape, np.nan)
    if not idx:
        return lo, hi
    a_rows, b_rows = [], []
    for interior, margin in lines:
        row = np.zeros(len(idx))
        rhs = 0.0
        for ij in interior:
            if ij in pos:
                row[pos[ij]] += 1.0
            else:
                rhs -= aug[ij]
        if margin in pos:
            row[pos[margin]] -= 1.0
        else:
            rhs += aug[margin]
        if row.any():
            a_rows.append(row)
            b_rows.append(rhs)
    a_eq = np.array(a_rows) if a_rows else None
    b_eq = np.array(b_rows) if b_rows else None
    for k, ij in enumerate(idx):
        c = np.zeros(len(idx))
        c[k] = 1.0
        res_min = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        res_max = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if res_min.status != 0:  # pragma: no cover - the true table is always feasible
            raise RuntimeError(f"suppression audit LP failed: {res_min.message}")
        lo[ij] = res_min.fun
        if res_max.status == 3:
            hi[ij] = np.inf
        elif res_max.fun is None:  # pragma: no cover - the table's own entry is feasible
            raise RuntimeError(f"suppression audit LP failed: {res_max.message}")
        else:
            hi[ij] = -res_max.fun
    return lo, hi


def _pick(aug: np.ndarray, mask: np.ndarray, candidates: Sequence[tuple[int, int]]) -> Any:
    """Smallest non-zero unsuppressed candidate (interior before margins); else a zero."""
    n_i, n_j = aug.shape
    free = [ij for ij in candidates if not mask[ij]]
    if not free:
        return None

    def key(ij: tuple[int, int]) -> tuple[int, int, float, tuple[int, int]]:
        is_margin = int(ij[0] == n_i - 1 or (n_j > 1 and ij[1] == n_j - 1))
        return (int(aug[ij] == 0), is_margin, float(aug[ij]), ij)

    return min(free, key=key)


def _mask_augmented(aug: np.ndarray, threshold: int) -> np.ndarray:
    """Primary + complementary suppression of an augmented table (audit-verified)."""
    mask = (aug >= 1) & (aug < threshold)
    if not mask.any():
        return mask
    primary = mask.copy()
    lines = _lines(aug.shape)
    while True:
        changed = True
        while changed:  # heuristic pass to a fixed point
            changed = False
            for interior, margin in lines:
                members = [*interior, margin]
                sup = [ij for ij in members if mask[ij]]
                if not sup:
                    continue
                leaks = len(sup) == 1
                if not leaks and not mask[margin]:
                    hidden = aug[margin] - sum(aug[ij] for ij in interior if not mask[ij])
                    leaks = 1 <= hidden < threshold
                if leaks:
                    choice = _pick(aug, mask, members)
                    if choice is not None:
                        mask[choice] = True
                        changed = True
        lo, hi = _ranges(aug, mask, lines)
        bad = mask & ((hi - lo < 0.5) | (primary & (hi < threshold - 0.5)))
        if not bad.any():
            return mask
        for ij in [tuple(map(int, t)) for t in np.argwhere(bad)]:
            related = [m for interior, margin in lines for m in [*interior, margin]
                       if ij in interior or ij == margin]  # fmt: skip
            choice = _pick(aug, mask, related)
            if choice is None:
                everything = [(int(i), int(j)) for i, j in np.ndindex(*aug.shape)]
                choice = _pick(aug, mask, everything)
            if choice is None:  # pragma: no cover - everything already suppressed
                return mask
            mask[choice] = True


# --------------------------------------------------------------------------------------
# pandas front ends
# --------------------------------------------------------------------------------------


def _as_counts(counts: pd.Series | pd.DataFrame, total_label: str) -> np.ndarray:
    if not isinstance(counts, pd.Series | pd.DataFrame):
        raise ValueError(
            f"counts must be a pandas Series or DataFrame, not {type(counts).__name__}"
        )
    if counts.size == 0:
        raise ValueError("counts: the table is empty")
    try:
        values = counts.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ValueError("counts must hold numbers (non-negative integer counts)") from None
    if np.isnan(values).any():
        raise ValueError("counts: missing values; use 0 for an empty cell")
    if (values < 0).any() or not np.all(values == np.round(values)):
        raise ValueError("counts must be non-negative integers")
    labels = list(counts.index) + (list(counts.columns) if isinstance(counts, pd.DataFrame) else [])
    if total_label in labels:
        raise ValueError(
            f"counts already contain a {total_label!r} label; pass the table without margins "
            "(or choose another total_label)"
        )
    return values


def suppression_mask(
    counts: pd.Series | pd.DataFrame,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    margins: bool = True,
    total_label: str = "Total",
) -> pd.Series | pd.DataFrame:
    """Which entries of a count table (with its margins) must be suppressed.

    Parameters
    ----------
    counts : pandas.Series or pandas.DataFrame
        One-way (Series) or two-way (DataFrame) table of non-negative integer counts,
        **without** margins.
    threshold : int, default 11
        Minimum reportable count: counts ``1 .. threshold - 1`` are suppressed (zero is
        reportable).  The CMS rule is 11.
    margins : bool, default True
        Assume the margins (row, column and grand totals) are published and protect
        against recovery from them (complementary suppression).  With False only
        primary suppression is applied, which is safe **only** if no total, percentage
        or other slice of the same data is ever published.
    total_label : str, default "Total"
        Label of the margin row/column.

    Returns
    -------
    pandas.Series or pandas.DataFrame of bool
        Same labels as ``counts`` plus the ``total_label`` margins (if ``margins``);
        True = suppress.

    Notes
    -----
    See the module docstring for the algorithm (primary suppression, line heuristic to
    a fixed point, LP audit of every suppressed entry).

    References
    ----------
    CMS Cell Size Suppression Policy (ResDAC, version 01/26/2024),
    https://resdac.org/node/1506.

    Hundepool, A. et al. (2012). *Statistical Disclosure Control*. Wiley, ch. 4-5.

    Examples
    --------
    >>> import pandas as pd
    >>> from rapport.psychometrics.suppression import suppression_mask
    >>> counts = pd.Series({"a": 40, "b": 7, "c": 25, "d": 0})
    >>> suppression_mask(counts).to_dict()
    {'a': False, 'b': True, 'c': True, 'd': False, 'Total': False}
    """
    check_positive_int(threshold, "threshold", minimum=1)
    values = _as_counts(counts, total_label)
    if isinstance(counts, pd.Series):
        if margins:
            # a one-way table is a single additive line: a column with its total
            mask = _mask_augmented(np.append(values, values.sum())[:, None], threshold)[:, 0]
        else:
            mask = (values >= 1) & (values < threshold)
        index = [*counts.index, total_label] if margins else list(counts.index)
        return pd.Series(mask, index=index, name=counts.name)
    if margins:
        mask = _mask_augmented(_augment(values), threshold)
        index = [*counts.index, total_label]
        columns = [*counts.columns, total_label]
    else:
        mask = (values >= 1) & (values < threshold)
        index, columns = list(counts.index), list(counts.columns)
    return pd.DataFrame(mask, index=index, columns=columns)


def suppress_counts(
    counts: pd.Series | pd.DataFrame,
    *,
    threshold: int = DEFAULT_THRESHOLD,
    margins: bool = True,
    total_label: str = "Total",
) -> pd.Series | pd.DataFrame:
    """Publishable version of a count table: margins added, unsafe entries set to ``<NA>``.

    Parameters are those of :func:`suppression_mask`.

    Returns
    -------
    pandas.Series or pandas.DataFrame
        Nullable ``Int64`` table with margins (if ``margins``); suppressed entries are
        ``<NA>``.

    Examples
    --------
    >>> import pandas as pd
    >>> from rapport.psychometrics.suppression import suppress_counts
    >>> t = pd.DataFrame({"ORS improved": [30, 4, 22], "not improved": [18, 12, 0]},
    ...                  index=["English", "Spanish", "Other"])
    >>> suppress_counts(t)
             ORS improved  not improved  Total
    English          <NA>          <NA>     48
    Spanish          <NA>          <NA>   <NA>
    Other            <NA>             0   <NA>
    Total              56            30     86

    (The 4 forces 12 out of its row, 22 out of its column, then 18, 30, the Other
    total 22 and the Spanish total 16 follow.  A zero is used as a complement only when
    no non-zero entry is left: a hidden zero leaves its partners no room to move down.)
    """
    mask = suppression_mask(counts, threshold=threshold, margins=margins, total_label=total_label)
    values = _as_counts(counts, total_label)
    if isinstance(counts, pd.Series):
        full = np.append(values, values.sum()) if margins else values
        series = pd.Series(full, index=mask.index, name=counts.name).astype("Int64")
        return series.mask(mask.to_numpy(dtype=bool))
    full = _augment(values) if margins else values
    frame = pd.DataFrame(full, index=mask.index, columns=mask.columns).astype("Int64")
    return frame.mask(mask.to_numpy(dtype=bool))


def feasible_ranges(
    shown: pd.Series | pd.DataFrame, *, total_label: str = "Total"
) -> pd.Series | pd.DataFrame:
    """What an outsider can infer about each hidden entry of a published table.

    For a table returned by :func:`suppress_counts` (margins included), solve, for every
    ``<NA>`` entry, the linear programmes min/max x subject to the shown entries, the
    additivity of rows and columns and x >= 0.

    Returns
    -------
    pandas.DataFrame
        One row per hidden entry: ``row``, ``column`` (``None`` for a one-way table),
        ``lower``, ``upper`` (``inf`` if unbounded).

    Examples
    --------
    >>> import pandas as pd
    >>> from rapport.psychometrics.suppression import feasible_ranges, suppress_counts
    >>> shown = suppress_counts(pd.Series({"a": 40, "b": 7, "c": 25}))
    >>> feasible_ranges(shown)
      row column  lower  upper
    0   b   None    0.0   32.0
    1   c   None    0.0   32.0
    """
    if isinstance(shown, pd.Series):
        if shown.index[-1] != total_label:
            raise ValueError(f"shown: the last entry must be the {total_label!r} margin")
        aug = shown.astype("Float64").to_numpy(dtype=float, na_value=np.nan)[:, None]
        rows = list(shown.index)
        cols: list[Any] = [None]
    else:
        if shown.index[-1] != total_label or shown.columns[-1] != total_label:
            raise ValueError(f"shown: the last row and column must be {total_label!r} margins")
        aug = shown.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        rows, cols = list(shown.index), list(shown.columns)
    mask = np.isnan(aug)
    lo, hi = _ranges(np.nan_to_num(aug), mask, _lines(aug.shape))
    out = []
    for i, j in np.argwhere(mask):
        out.append({"row": rows[i], "column": cols[j], "lower": lo[i, j], "upper": hi[i, j]})
    return pd.DataFrame(out, columns=["row", "column", "lower", "upper"])


def percentages(
    shown: pd.Series | pd.DataFrame, *, axis: str = "row", total_label: str = "Total"
) -> pd.Series | pd.DataFrame:
    """Percentages of a suppressed table, hidden wherever numerator or denominator is hidden.

    A percentage of a shown count over a hidden total would reveal the total (count /
    proportion), and a percentage of a hidden count would reveal the count, so both are
    ``NaN``.  Every percentage shown is computed from shown counts only and so discloses
    nothing new.

    Parameters
    ----------
    shown : pandas.Series or pandas.DataFrame
        Output of :func:`suppress_counts` (margins included).
    axis : {"row", "column", "total"}, default "row"
        Denominator: the row total, the column total or the grand total (a Series always
        uses its total).

    Examples
    --------
    >>> import pandas as pd
    >>> from rapport.psychometrics.suppression import percentages, suppress_counts
    >>> percentages(suppress_counts(pd.Series({"a": 40, "b": 7, "c": 25}))).round(1).tolist()
    [55.6, nan, nan, 100.0]
    """
    if axis not in ("row", "column", "total"):
        raise ValueError(f"axis must be one of 'row', 'column', 'total'; got {axis!r}")
    if isinstance(shown, pd.Series):
        vals: np.ndarray = shown.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        return pd.Series(100.0 * vals / vals[-1], index=shown.index, name=shown.name)
    vals = shown.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if axis == "row":
        denom = vals[:, -1:]
    elif axis == "column":
        denom = vals[-1:, :]
    else:
        denom = vals[-1, -1]
    return pd.DataFrame(100.0 * vals / denom, index=shown.index, columns=shown.columns)


def suppress_rows(
    table: pd.DataFrame,
    *,
    n: str = "n",
    within: str | Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
    margins: bool = True,
) -> pd.DataFrame:
    """Suppress the rows of a tidy statistics table whose group count is too small.

    Each block of rows sharing the ``within`` values is treated as a one-way count table
    of ``n`` with its total, suppressed by :func:`suppression_mask` (primary and
    complementary), and in every suppressed row ``n`` becomes ``<NA>`` and the
    statistics in ``columns`` become NaN: a mean, a proportion or a confidence interval
    computed from 7 people reveals that a group of 7 exists (its CI width depends on n).

    Parameters
    ----------
    table : pandas.DataFrame
        Tidy table, one row per group.
    n : str, default "n"
        Count column.
    within : str or sequence of str, optional
        Columns defining separate one-way tables (e.g. ``["characteristic", "outcome"]``).
    columns : sequence of str, optional
        Statistic columns to blank; default: every numeric column other than ``n`` and
        ``within``.
    threshold, margins
        As in :func:`suppression_mask`.

    Returns
    -------
    pandas.DataFrame
        A copy with ``n`` as nullable ``Int64`` and a boolean ``suppressed`` column.

    Examples
    --------
    >>> import pandas as pd
    >>> from rapport.psychometrics.suppression import suppress_rows
    >>> t = pd.DataFrame({"group": ["a", "b", "c"], "n": [40, 7, 25], "mean": [31.0, 28.5, 30.1]})
    >>> suppress_rows(t)
      group     n  mean  suppressed
    0     a    40  31.0       False
    1     b  <NA>   NaN        True
    2     c  <NA>   NaN        True
    """
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"table must be a pandas DataFrame, not {type(table).__name__}")
    within_cols = as_column_list(within, name="within")
    for c in [n, *within_cols]:
        if c not in table.columns:
            raise ValueError(f"table: column {c!r} not found")
    if columns is None:
        stat_cols = [
            c
            for c in table.columns
            if c != n
            and c not in within_cols
            and pd.api.types.is_numeric_dtype(table[c])
            and not pd.api.types.is_bool_dtype(table[c])
        ]
    else:
        stat_cols = as_column_list(columns, name="columns")
        missing = [c for c in stat_cols if c not in table.columns]
        if missing:
            raise ValueError(f"table: column(s) not found: {missing}")
    out = table.copy()
    counts = pd.to_numeric(out[n], errors="coerce")
    if counts.isna().any():
        raise ValueError(f"table: column {n!r} must hold counts without missing values")
    suppressed = pd.Series(False, index=out.index)
    if within_cols:
        key = within_cols[0] if len(within_cols) == 1 else within_cols
        blocks = list(out.groupby(key, sort=False, dropna=False).groups.values())
    else:
        blocks = [out.index]
    for rows in blocks:
        block = counts.loc[rows].reset_index(drop=True)
        mask = suppression_mask(
            block, threshold=threshold, margins=margins, total_label="__total__"
        )
        suppressed.loc[rows] = mask.iloc[: len(block)].to_numpy()
    out[n] = counts.astype("Int64").mask(suppressed)
    for c in stat_cols:
        out[c] = out[c].astype(float).mask(suppressed)
    out["suppressed"] = suppressed.to_numpy()
    return out
