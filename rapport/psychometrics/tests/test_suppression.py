"""Tests for rapport.psychometrics.suppression.

The disclosure tests play the attacker: from the *published* table alone (shown entries,
margins, additivity, non-negativity) they compute, with their own linear programmes
(independent of the module's audit), the smallest and largest value every hidden entry
can take, and require that no hidden entry is pinned down and that no hidden small count
(1-10) can be shown to be small.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from rapport.psychometrics.suppression import (
    feasible_ranges,
    percentages,
    suppress_counts,
    suppress_rows,
    suppression_mask,
)


def attacker_bounds(shown: np.ndarray) -> dict[tuple[int, int], tuple[float, float]]:
    """Min/max of each NaN entry of an augmented table (last row/col = margins)."""
    n_i, n_j = shape = shown.shape
    hidden = [(i, j) for i in range(n_i) for j in range(n_j) if np.isnan(shown[i, j])]
    col = {h: k for k, h in enumerate(hidden)}
    eqs: list[tuple[list[tuple[int, int]], tuple[int, int]]] = []
    if n_j == 1:
        eqs.append(([(i, 0) for i in range(n_i - 1)], (n_i - 1, 0)))
    else:
        eqs += [([(i, j) for j in range(n_j - 1)], (i, n_j - 1)) for i in range(n_i)]
        eqs += [([(i, j) for i in range(n_i - 1)], (n_i - 1, j)) for j in range(n_j)]
    a, b = [], []
    for parts, total in eqs:
        row, rhs = np.zeros(len(hidden)), 0.0
        for cell, sign in [*((p, 1.0) for p in parts), (total, -1.0)]:
            if cell in col:
                row[col[cell]] += sign
            else:
                rhs -= sign * shown[cell]
        a.append(row)
        b.append(rhs)
    out = {}
    assert shape == shown.shape
    for h, k in col.items():
        c = np.zeros(len(hidden))
        c[k] = 1
        lo = linprog(c, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None), method="highs")
        hi = linprog(-c, A_eq=np.array(a), b_eq=np.array(b), bounds=(0, None), method="highs")
        assert lo.status == 0
        out[h] = (lo.fun, np.inf if hi.status == 3 else -hi.fun)
    return out


def check_published(true_aug: np.ndarray, shown: np.ndarray, threshold: int = 11) -> None:
    """Every CMS requirement, from the attacker's point of view."""
    visible = ~np.isnan(shown)
    # shown entries are true and reportable (0 or >= threshold)
    np.testing.assert_array_equal(shown[visible], true_aug[visible])
    assert not np.any((shown[visible] >= 1) & (shown[visible] < threshold))
    for cell, (lo, hi) in attacker_bounds(shown).items():
        value = true_aug[cell]
        assert lo - 1e-7 <= value <= hi + 1e-7, "true table must be feasible"
        assert hi - lo >= 1 - 1e-7, f"hidden entry {cell}={value} is determined ({lo}, {hi})"
        if 1 <= value < threshold:
            assert hi >= threshold - 1e-7, f"small entry {cell}={value} shown small: [{lo}, {hi}]"


def augmented(values: np.ndarray) -> np.ndarray:
    top = np.hstack((values, values.sum(axis=1, keepdims=True)))
    return np.vstack((top, np.append(values.sum(axis=0), values.sum())[None, :])).astype(float)


# --- primary rule -------------------------------------------------------------------------


def test_cms_primary_rule_boundaries() -> None:
    counts = pd.Series({"zero": 0, "one": 1, "ten": 10, "eleven": 11, "big": 200})
    mask = suppression_mask(counts, margins=False)
    assert mask.to_dict() == {
        "zero": False,
        "one": True,
        "ten": True,
        "eleven": False,
        "big": False,
    }
    mask5 = suppression_mask(counts, threshold=5, margins=False)
    assert mask5.to_dict() == {
        "zero": False,
        "one": True,
        "ten": False,
        "eleven": False,
        "big": False,
    }


def test_nothing_small_nothing_hidden() -> None:
    t = pd.DataFrame([[0, 11], [40, 12]], index=["x", "y"], columns=["a", "b"])
    out = suppress_counts(t)
    assert not out.isna().any().any()
    assert out.loc["Total", "Total"] == 63
    assert str(out.dtypes.iloc[0]) == "Int64"


# --- one-way tables ---------------------------------------------------------------------


def test_one_way_single_small_cell_gets_complement() -> None:
    counts = pd.Series({"a": 40, "b": 7, "c": 25, "d": 0}, name="clients")
    out = suppress_counts(counts)
    # b alone would be total - a - c - d; the next smallest non-zero cell (c) goes too.
    assert out.isna().to_dict() == {"a": False, "b": True, "c": True, "d": False, "Total": False}
    assert out.name == "clients"
    check_published(
        np.append(counts.to_numpy(), 72.0)[:, None], out.to_numpy(float, na_value=np.nan)[:, None]
    )


def test_one_way_small_cells_that_add_up_small() -> None:
    # 3 and 4 hidden together would still reveal "7 people in b or c": a third goes.
    counts = pd.Series({"a": 50, "b": 3, "c": 4, "d": 30, "e": 60})
    out = suppress_counts(counts)
    assert out.isna().sum() == 3
    assert out.isna()["d"]
    check_published(
        np.append(counts.to_numpy(), counts.sum())[:, None].astype(float),
        out.to_numpy(float, na_value=np.nan)[:, None],
    )


def test_one_way_small_total_is_hidden() -> None:
    counts = pd.Series({"a": 4, "b": 0, "c": 3})
    out = suppress_counts(counts)
    assert out.isna().to_dict() == {"a": True, "b": False, "c": True, "Total": True}


# --- two-way tables ---------------------------------------------------------------------


def test_two_way_textbook_case() -> None:
    t = pd.DataFrame(
        [[30, 18, 25], [4, 12, 40], [22, 15, 33]],
        index=["English", "Spanish", "Other"],
        columns=["improved", "unchanged", "worse"],
    )
    out = suppress_counts(t)
    assert pd.isna(out.loc["Spanish", "improved"])
    # the Spanish row and the improved column each need a second hidden cell
    assert out.loc["Spanish"].isna().sum() >= 2
    assert out["improved"].isna().sum() >= 2
    check_published(augmented(t.to_numpy()), out.to_numpy(float, na_value=np.nan))


def test_small_margin_is_primary() -> None:
    t = pd.DataFrame([[3, 2], [20, 30], [15, 40]], columns=["x", "y"])
    out = suppress_counts(t)
    assert pd.isna(out.loc[0, "Total"])  # row total 5 is itself a small count
    check_published(augmented(t.to_numpy()), out.to_numpy(float, na_value=np.nan))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    st.integers(2, 5).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(
                st.lists(
                    st.one_of(st.integers(0, 12), st.integers(0, 60)),
                    min_size=c,
                    max_size=c,
                ),
                min_size=r,
                max_size=r,
            )
        )
    )
)
def test_random_two_way_tables_cannot_be_recovered(rows: list[list[int]]) -> None:
    values = np.array(rows)
    t = pd.DataFrame(values)
    out = suppress_counts(t)
    check_published(augmented(values), out.to_numpy(float, na_value=np.nan))


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.integers(0, 12), st.integers(0, 80)), min_size=1, max_size=9))
def test_random_one_way_tables_cannot_be_recovered(cells: list[int]) -> None:
    counts = pd.Series(cells)
    out = suppress_counts(counts)
    true = np.append(counts.to_numpy(), counts.sum())[:, None].astype(float)
    check_published(true, out.to_numpy(float, na_value=np.nan)[:, None])


def test_threshold_is_configurable() -> None:
    t = pd.DataFrame([[6, 30, 25], [14, 18, 40], [22, 15, 33]])
    assert not suppress_counts(t, threshold=5).isna().any().any()
    out = suppress_counts(t, threshold=7)
    assert pd.isna(out.loc[0, 0])
    check_published(augmented(t.to_numpy()), out.to_numpy(float, na_value=np.nan), threshold=7)


def test_feasible_ranges_reports_attacker_view() -> None:
    t = pd.DataFrame([[30, 18, 25], [4, 12, 40], [22, 15, 33]])
    shown = suppress_counts(t)
    ranges = feasible_ranges(shown)
    theirs = attacker_bounds(shown.to_numpy(float, na_value=np.nan))
    assert len(ranges) == len(theirs) == int(shown.isna().sum().sum())
    labels = list(shown.index)
    for _, r in ranges.iterrows():
        cell = (labels.index(r["row"]), list(shown.columns).index(r["column"]))
        assert (r["lower"], r["upper"]) == pytest.approx(theirs[cell])


# --- percentages and statistics ---------------------------------------------------------


def test_percentages_hidden_with_numerator_or_denominator() -> None:
    t = pd.DataFrame([[30, 18, 25], [4, 12, 40], [22, 15, 33]], index=list("pqr"))
    shown = suppress_counts(t)
    pct = percentages(shown, axis="row")
    for i in shown.index:
        for j in shown.columns:
            if pd.isna(shown.loc[i, j]) or pd.isna(shown.loc[i, "Total"]):
                assert np.isnan(pct.loc[i, j])
            else:
                assert pct.loc[i, j] == pytest.approx(100 * shown.loc[i, j] / shown.loc[i, "Total"])
    pct_c = percentages(shown, axis="column")
    assert pct_c.loc["Total", 0] == pytest.approx(100.0) or np.isnan(pct_c.loc["Total", 0])
    assert percentages(shown, axis="total").loc["Total", "Total"] == pytest.approx(100.0)
    with pytest.raises(ValueError, match="axis"):
        percentages(shown, axis="diagonal")


def test_suppress_rows_blanks_statistics() -> None:
    table = pd.DataFrame(
        {
            "characteristic": ["gender"] * 3 + ["language"] * 2,
            "group": ["f", "m", "x", "en", "es"],
            "n": [60, 45, 6, 100, 11],
            "mean": [30.0, 28.0, 25.0, 29.0, 27.0],
            "ci_low": [28.0, 26.0, 20.0, 27.0, 22.0],
            "label": ["a", "b", "c", "d", "e"],
        }
    )
    out = suppress_rows(table, within="characteristic")
    assert out["suppressed"].tolist() == [False, True, True, False, False]
    assert out["n"].isna().tolist() == [False, True, True, False, False]
    assert np.isnan(out.loc[2, "mean"]) and np.isnan(out.loc[1, "ci_low"])
    assert out.loc[2, "label"] == "c"  # non-numeric columns untouched
    assert out.loc[4, "mean"] == 27.0
    # the block of gender counts, as published, does not reveal the 6
    shown = np.array([60.0, np.nan, np.nan, 111.0])[:, None]
    for (_, _), (lo, hi) in attacker_bounds(shown).items():
        assert hi >= 11 and lo < hi
    only_mean = suppress_rows(table, within=["characteristic"], columns=["mean"])
    assert only_mean.loc[2, "ci_low"] == 20.0


def test_input_errors() -> None:
    with pytest.raises(ValueError, match="non-negative integers"):
        suppress_counts(pd.Series([1.5, 20]))
    with pytest.raises(ValueError, match="non-negative integers"):
        suppress_counts(pd.Series([-1, 20]))
    with pytest.raises(ValueError, match="missing"):
        suppress_counts(pd.Series([np.nan, 20]))
    with pytest.raises(ValueError, match="Series or DataFrame"):
        suppress_counts([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="already contain"):
        suppress_counts(pd.Series({"a": 20, "Total": 20}))
    with pytest.raises(ValueError, match="threshold"):
        suppress_counts(pd.Series([20]), threshold=0)
    with pytest.raises(ValueError, match="not found"):
        suppress_rows(pd.DataFrame({"n": [1]}), within="nope")
    with pytest.raises(ValueError, match="margin"):
        feasible_ranges(pd.Series([1, 2]))
