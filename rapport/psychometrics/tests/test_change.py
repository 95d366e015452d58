"""Reliable change and clinical significance: J&T worked numbers and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from rapport.psychometrics import (
    CHANGE_CATEGORIES,
    classify_change,
    clinical_cutoffs,
    reliable_change_index,
    reliable_change_points,
    standard_error_of_difference,
)


def test_jacobson_truax_worked_numbers() -> None:
    # notes section 3: SD_pre 11.83, r = .97 -> S_diff 2.90, RCI 5.68 points
    s = standard_error_of_difference(11.83, 0.97)
    assert s == pytest.approx(11.83 * math.sqrt(2) * math.sqrt(0.03), rel=1e-12)
    assert round(s, 2) == 2.90
    assert round(reliable_change_points(11.83, 0.97), 2) == 5.68
    cut = clinical_cutoffs(70.7, 23.8, 114.8, 17.8, higher_is_better=True)
    assert cut.a == pytest.approx(70.7 + 2 * 23.8)  # 118.3
    assert cut.b == pytest.approx(114.8 - 2 * 17.8)  # 79.2
    assert cut.c == pytest.approx((23.8 * 114.8 + 17.8 * 70.7) / (23.8 + 17.8))
    assert round(cut.c, 2) == 95.93


def test_cutoffs_lower_is_better_and_partial() -> None:
    # hand calculation: clinical 20 (SD 5), functional 6 (SD 4), lower is better
    cut = clinical_cutoffs(20, 5, 6, 4, higher_is_better=False)
    assert (cut.a, cut.b) == pytest.approx((10.0, 14.0))
    assert cut.c == pytest.approx((5 * 6 + 4 * 20) / 9)  # 12.222...
    only_a = clinical_cutoffs(20, 5, higher_is_better=False, n_sd=1.96)
    assert only_a.a == pytest.approx(20 - 1.96 * 5)
    assert only_a.b is None and only_a.c is None
    assert only_a.as_dict()["n_sd"] == 1.96


def test_cutoff_validation() -> None:
    with pytest.raises(ValueError, match="must lie below the clinical mean"):
        clinical_cutoffs(20, 5, 25, 4, higher_is_better=False)
    with pytest.raises(ValueError, match="both functional_mean and functional_sd"):
        clinical_cutoffs(20, 5, 6, higher_is_better=False)
    with pytest.raises(ValueError, match="clinical_sd must be a positive number"):
        clinical_cutoffs(20, 0, higher_is_better=True)
    with pytest.raises(ValueError, match="higher_is_better must be True or False"):
        clinical_cutoffs(20, 5, higher_is_better="yes")


def test_rci_hand_values() -> None:
    # sd 10, r .82: S_diff = 10 * sqrt(2 * .18) = 6
    rc = reliable_change_index([20, 20, 20, np.nan], [8, 9, 32, 5], sd=10, reliability=0.82)
    np.testing.assert_allclose(rc[:3], [-2.0, -11 / 6, 2.0], rtol=1e-12)
    assert np.isnan(rc[3])
    with pytest.raises(ValueError, match="differ in shape"):
        reliable_change_index([1, 2], [1], sd=1, reliability=0.8)
    with pytest.raises(ValueError, match="reliability must be strictly between 0 and 1"):
        reliable_change_index([1], [2], sd=1, reliability=1.0)


def test_jt_statistical_classification_lower_is_better() -> None:
    # S_diff = 6, z = 1.96 -> reliable when |change| > 11.76; cutoff 12 (>= 12 clinical)
    eps = pd.DataFrame(
        {"pre": [20.0, 20, 20, 10, 5, 14, np.nan], "post": [8.0, 9, 30, 0, 18, 2, 3]},
        index=list("abcdefg"),
    )
    out = classify_change(
        eps, "pre", "post", higher_is_better=False, reliability=0.82, sd=10, cutoff=12
    )
    assert list(out.index) == list("abcdefg")
    assert list(out["category"].astype(object).iloc[:6]) == [
        "recovered",  # -12 (RC -2.0): 20 -> 8 leaves the clinical range (>= 12)
        "no_reliable_change",  # -11 (RC -1.83)
        "no_reliable_change",  # +10 (RC 1.67)
        "no_reliable_change",  # -10 (RC -1.67)
        "reliably_deteriorated",  # +13 (RC 2.17)
        "recovered",  # -12, 14 -> 2
    ]
    assert pd.isna(out["category"].iloc[6])
    assert pd.isna(out["reliable_improvement"].iloc[6])
    np.testing.assert_allclose(out["rci"].iloc[:6], [-2, -11 / 6, 10 / 6, -10 / 6, 13 / 6, -2])
    assert out.attrs["s_diff"] == pytest.approx(6.0)
    assert out.attrs["threshold_points"] == pytest.approx(11.76)
    assert out.attrs["rci_inclusive"] is False


def test_jt_exactly_at_z_is_exclusive_by_default() -> None:
    # S_diff 6, z = 2 -> change of exactly 12 points: RC = 2 is not > 2
    eps = pd.DataFrame({"pre": [20.0], "post": [8.0]})
    kw = {"higher_is_better": False, "reliability": 0.82, "sd": 10, "z": 2.0}
    assert classify_change(eps, "pre", "post", **kw)["category"][0] == "no_reliable_change"
    out = classify_change(eps, "pre", "post", rci_inclusive=True, **kw)
    assert out["category"][0] == "reliably_improved"  # no cutoff -> never "recovered"
    assert out["clinical_pre"].isna().all()


def test_sd_estimated_from_intake_scores() -> None:
    eps = pd.DataFrame({"pre": [10.0, 14, 18, 22, 26], "post": [2.0, 14, 18, 22, 40]})
    out = classify_change(eps, "pre", "post", higher_is_better=False, reliability=0.8)
    sd = float(np.std([10, 14, 18, 22, 26], ddof=1))  # 6.3246
    assert out.attrs["sd"] == pytest.approx(sd)
    s_diff = sd * math.sqrt(0.4)
    assert out.attrs["s_diff"] == pytest.approx(s_diff)
    assert 1.96 * s_diff == pytest.approx(7.84, abs=0.01)
    assert list(out["category"].astype(str)) == [
        "reliably_improved", "no_reliable_change", "no_reliable_change",
        "no_reliable_change", "reliably_deteriorated",
    ]  # fmt: skip


def test_phq9_nhs_talking_therapies_rules() -> None:
    # reliable improvement: decrease >= 6; caseness >= 10
    eps = pd.DataFrame({"intake": [15, 16, 15, 9, 5, 16, 27], "final": [9, 10, 10, 3, 11, 11, 0]})
    out = classify_change(eps, "intake", "final", higher_is_better=False, rci_points=6, cutoff=10)
    assert list(out["change"]) == [-6, -6, -5, -6, 6, -5, -27]
    assert out["change"].dtype == np.int64
    assert list(out["category"].astype(str)) == [
        "recovered",  # 15 -> 9: reliable, leaves caseness
        "reliably_improved",  # 16 -> 10: still a case (10 is inclusive)
        "no_reliable_change",  # -5
        "reliably_improved",  # 9 -> 3: not a case at intake
        "reliably_deteriorated",  # +6
        "no_reliable_change",  # 16 -> 11
        "recovered",
    ]
    assert out["rci"].isna().all()
    assert out.attrs["criterion"] == "points"
    assert out.attrs["rci_inclusive"] is True
    # the same data with a strict "more than 6 points" rule and caseness "> 10"
    strict = classify_change(
        eps, "intake", "final", higher_is_better=False, rci_points=6, cutoff=10,
        rci_inclusive=False, cutoff_inclusive=False,
    )  # fmt: skip
    assert list(strict["category"].astype(str))[:5] == [
        "no_reliable_change", "no_reliable_change", "no_reliable_change",
        "no_reliable_change", "no_reliable_change",
    ]  # fmt: skip
    assert strict["category"][6] == "recovered"
    assert list(strict["clinical_post"])[:2] == [False, False]


def test_ors_higher_is_better() -> None:
    # ORS: reliable change 5 points, clinical <= 25
    eps = pd.DataFrame({"s1": [20.0, 20.0, 30.0, 24.1], "s9": [26.0, 25.0, 24.0, 29.1]})
    out = classify_change(eps, "s1", "s9", higher_is_better=True, rci_points=5, cutoff=25)
    assert list(out["improvement"]) == pytest.approx([6.0, 5.0, -6.0, 5.0])
    assert list(out["category"].astype(str)) == [
        "recovered", "reliably_improved", "reliably_deteriorated", "recovered",
    ]  # fmt: skip


def test_decimal_scores_compare_as_written() -> None:
    # 1.3 - 0.7 = 0.6000000000000001 in floating point: still "exactly 0.6"
    eps = pd.DataFrame({"pre": [1.3, 1.3], "post": [0.7, 0.71]})
    inc = classify_change(eps, "pre", "post", higher_is_better=False, rci_points=0.6)
    exc = classify_change(
        eps, "pre", "post", higher_is_better=False, rci_points=0.6, rci_inclusive=False
    )
    assert list(inc["reliable_improvement"]) == [True, False]
    assert list(exc["reliable_improvement"]) == [False, False]


def test_category_is_ordered_categorical() -> None:
    eps = pd.DataFrame({"pre": [10, 20], "post": [20, 10]})
    out = classify_change(eps, "pre", "post", higher_is_better=True, rci_points=5)
    assert list(out["category"].cat.categories) == list(CHANGE_CATEGORIES)
    assert out["category"].cat.ordered
    # ordered best to worst: comparisons follow CHANGE_CATEGORIES, not the alphabet
    assert (out["category"] > "reliably_improved").tolist() == [False, True]
    assert (out["category"] < "no_reliable_change").tolist() == [True, False]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "exactly one of reliability="),
        ({"reliability": 0.8, "rci_points": 5}, "exactly one of reliability="),
        ({"rci_points": 5, "sd": 3}, "sd= is used with reliability="),
        ({"rci_points": -1}, "rci_points must be a positive number"),
        ({"reliability": 0.8, "sd": 0}, "sd must be a positive number"),
        ({"reliability": 0.8, "z": 0}, "z must be a positive number"),
        ({"rci_points": 5, "cutoff": float("inf")}, "cutoff must be a finite number"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    eps = pd.DataFrame({"pre": [10, 12, 14], "post": [5, 13, 20]})
    with pytest.raises(ValueError, match=message):
        classify_change(eps, "pre", "post", higher_is_better=True, **kwargs)


def test_bad_data() -> None:
    eps = pd.DataFrame({"pre": [10.0, np.nan], "post": ["a", "b"]})
    with pytest.raises(ValueError, match="column 'post' is not numeric"):
        classify_change(eps, "pre", "post", higher_is_better=True, rci_points=5)
    eps = pd.DataFrame({"pre": [10.0, np.nan], "post": [5.0, 3.0]})
    with pytest.raises(ValueError, match="at least 2 intake scores"):
        classify_change(eps, "pre", "post", higher_is_better=True, reliability=0.8)
    with pytest.raises(ValueError, match="higher_is_better must be True or False"):
        classify_change(eps, "pre", "post", higher_is_better=None, rci_points=5)
    with pytest.raises(ValueError, match="different columns"):
        classify_change(eps, "pre", "pre", higher_is_better=True, rci_points=5)
