"""Input validation shared by the :mod:`rapport.psychometrics` functions.

Every public function validates its input with these helpers so that bad input
fails early with a :class:`ValueError` whose message names the offending
argument, column or value.  (``assert`` is never used for input validation: it
is stripped under ``python -O``.)

The helpers are deliberately small and free of Django imports.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "as_column_list",
    "check_choice",
    "check_dataframe",
    "check_positive_int",
    "check_probability",
]


def as_column_list(columns: str | Iterable[Any] | None, *, name: str = "columns") -> list[Any]:
    """Normalise a column argument (a single name or an iterable of names) to a list.

    A single string is treated as one column name.  ``None`` gives an empty list.
    Duplicate names raise ``ValueError``.

    Examples
    --------
    >>> as_column_list("trust")
    ['trust']
    >>> as_column_list(("q1", "q2"))
    ['q1', 'q2']
    """
    if columns is None:
        return []
    if isinstance(columns, str | bytes) or not isinstance(columns, Iterable):
        out = [columns]
    else:
        out = list(columns)
    seen: set[Any] = set()
    dupes = [c for c in out if c in seen or seen.add(c)]  # type: ignore[func-returns-value]
    if dupes:
        raise ValueError(f"{name}: duplicated column name(s): {', '.join(map(str, dupes))}")
    return out


def check_dataframe(
    data: Any,
    columns: str | Sequence[Any] | None = None,
    *,
    numeric: bool = True,
    min_rows: int = 3,
    allow_missing: bool = True,
    name: str = "data",
) -> pd.DataFrame:
    """Validate a DataFrame argument and return the requested columns.

    Parameters
    ----------
    data : pandas.DataFrame
        The input table.
    columns : str or sequence of str, optional
        Columns that must be present.  ``None`` (default) means all columns.
    numeric : bool, default True
        If True, every requested column must have a numeric (or boolean) dtype;
        a column holding text raises ``ValueError`` naming the column and the
        first non-numeric value.  Infinite values are rejected too.
    min_rows : int, default 3
        Minimum number of rows (respondents) required.
    allow_missing : bool, default True
        If False, any missing value (NaN/None) in the requested columns raises.
    name : str, default "data"
        Argument name used in error messages.

    Returns
    -------
    pandas.DataFrame
        ``data[columns]`` (a new DataFrame; the input is not modified).

    Raises
    ------
    ValueError
        If ``data`` is not a DataFrame, a column is missing or duplicated, a
        column is not numeric, or there are fewer than ``min_rows`` rows.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [1, 2, 3], "q2": [3, 2, 1], "who": ["a", "b", "c"]})
    >>> check_dataframe(df, ["q1", "q2"]).shape
    (3, 2)
    >>> check_dataframe(df, ["q1", "who"])
    Traceback (most recent call last):
    ...
    ValueError: data: column 'who' is not numeric (found value 'a')
    >>> check_dataframe(df, ["q1", "q9"])
    Traceback (most recent call last):
    ...
    ValueError: data: column(s) not found: 'q9'
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, not {type(data).__name__}")
    if columns is None:
        cols = list(data.columns)
    else:
        cols = as_column_list(columns, name=f"{name} columns")
    if not cols:
        raise ValueError(f"{name}: no columns to analyse")
    if data.columns.has_duplicates:
        dupes = data.columns[data.columns.duplicated()].unique()
        raise ValueError(f"{name}: duplicated column name(s) in the table: {list(dupes)}")
    missing = [c for c in cols if c not in data.columns]
    if missing:
        raise ValueError(f"{name}: column(s) not found: {', '.join(repr(c) for c in missing)}")
    if len(data) < min_rows:
        raise ValueError(f"{name}: at least {min_rows} rows are required, got {len(data)}")
    out = data.loc[:, cols]
    if numeric:
        for c in cols:
            col = out[c]
            if not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_complex_dtype(
                col.dtype
            ):
                bad = _first_non_numeric(col)
                raise ValueError(f"{name}: column {c!r} is not numeric (found value {bad!r})")
        values = out.to_numpy(dtype=float, na_value=np.nan)
        if np.isinf(values).any():
            bad_cols = [c for c, b in zip(cols, np.isinf(values).any(axis=0), strict=True) if b]
            raise ValueError(f"{name}: infinite values in column(s) {bad_cols}")
    if not allow_missing and out.isna().to_numpy().any():
        bad_cols = [c for c in cols if out[c].isna().any()]
        raise ValueError(f"{name}: missing values in column(s) {bad_cols}")
    return out


def _first_non_numeric(col: pd.Series) -> Any:
    """Return the first value of ``col`` that cannot be parsed as a number."""
    for v in col:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            continue
        try:
            float(v)
        except (TypeError, ValueError):
            return v
    return col.dtype


def check_choice(value: Any, name: str, choices: Iterable[Any]) -> Any:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``; return it.

    >>> check_choice("listwise", "missing", ("pairwise", "listwise"))
    'listwise'
    """
    choices = tuple(choices)
    if value not in choices:
        opts = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {opts}; got {value!r}") from None
    return value


def check_probability(value: Any, name: str) -> float:
    """Raise ``ValueError`` unless ``0 < value < 1``; return it as float.

    >>> check_probability(0.95, "ci")
    0.95
    """
    try:
        v = float(value)
    except (TypeError, ValueError):
        msg = f"{name} must be a number strictly between 0 and 1; got {value!r}"
        raise ValueError(msg) from None
    if not 0.0 < v < 1.0:
        raise ValueError(f"{name} must be strictly between 0 and 1; got {value!r}")
    return v


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Raise ``ValueError`` unless ``value`` is an integer ``>= minimum``; return it.

    >>> check_positive_int(5, "n_boot", minimum=0)
    5
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValueError(f"{name} must be an integer; got {value!r}") from None
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}; got {value}")
    return int(value)
