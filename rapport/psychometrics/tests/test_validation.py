"""Tests for the shared input-validation helpers."""

import numpy as np
import pandas as pd
import pytest

from rapport.psychometrics._validation import (
    as_column_list,
    check_choice,
    check_dataframe,
    check_positive_int,
    check_probability,
)


@pytest.fixture
def df():
    return pd.DataFrame(
        {"q1": [1, 2, 3, 4], "q2": [4.0, np.nan, 2, 1], "name": ["a", "b", "c", "d"]}
    )


def test_returns_requested_columns_in_order(df):
    out = check_dataframe(df, ["q2", "q1"])
    assert list(out.columns) == ["q2", "q1"]
    assert out is not df


def test_all_columns_by_default_non_numeric_allowed(df):
    assert check_dataframe(df, numeric=False).shape == (4, 3)


def test_not_a_dataframe():
    with pytest.raises(ValueError, match="must be a pandas DataFrame, not list"):
        check_dataframe([[1, 2], [3, 4]])


def test_missing_columns(df):
    with pytest.raises(ValueError, match="column\\(s\\) not found: 'x', 'y'"):
        check_dataframe(df, ["q1", "x", "y"])


def test_text_column_named(df):
    with pytest.raises(ValueError, match="column 'name' is not numeric \\(found value 'a'\\)"):
        check_dataframe(df, ["q1", "name"])


def test_object_column_with_mixed_text():
    d = pd.DataFrame({"q": pd.Series([1, 2, "three", 4], dtype=object)})
    with pytest.raises(ValueError, match="found value 'three'"):
        check_dataframe(d)


def test_too_few_rows(df):
    with pytest.raises(ValueError, match="at least 5 rows are required, got 4"):
        check_dataframe(df, ["q1"], min_rows=5)


def test_empty_frame():
    with pytest.raises(ValueError, match="at least 3 rows"):
        check_dataframe(pd.DataFrame({"a": []}))


def test_infinite_values_rejected():
    d = pd.DataFrame({"a": [1.0, np.inf, 2.0], "b": [1, 2, 3]})
    with pytest.raises(ValueError, match="infinite values in column\\(s\\) \\['a'\\]"):
        check_dataframe(d)


def test_missing_values_policy(df):
    check_dataframe(df, ["q2"])  # allowed by default
    with pytest.raises(ValueError, match="missing values in column\\(s\\) \\['q2'\\]"):
        check_dataframe(df, ["q1", "q2"], allow_missing=False)


def test_duplicate_requested_columns(df):
    with pytest.raises(ValueError, match="duplicated column name"):
        check_dataframe(df, ["q1", "q1"])


def test_duplicate_table_columns():
    d = pd.DataFrame([[1, 2, 3]] * 3, columns=["a", "a", "b"])
    with pytest.raises(ValueError, match="duplicated column name\\(s\\) in the table"):
        check_dataframe(d, ["b"])


def test_as_column_list():
    assert as_column_list(None) == []
    assert as_column_list("a") == ["a"]
    assert as_column_list(["a", "b"]) == ["a", "b"]


def test_check_choice():
    assert check_choice("a", "opt", ("a", "b")) == "a"
    with pytest.raises(ValueError, match="opt must be one of 'a', 'b'; got 'c'"):
        check_choice("c", "opt", ("a", "b"))


@pytest.mark.parametrize("bad", [0, 1, -0.5, 1.5, "x", None])
def test_check_probability_rejects(bad):
    with pytest.raises(ValueError, match="ci must be"):
        check_probability(bad, "ci")


def test_check_positive_int():
    assert check_positive_int(0, "n", minimum=0) == 0
    for bad in (True, 1.5, "3"):
        with pytest.raises(ValueError, match="n must be an integer"):
            check_positive_int(bad, "n")
    with pytest.raises(ValueError, match="n must be >= 1; got 0"):
        check_positive_int(0, "n")
