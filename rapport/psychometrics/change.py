"""Reliable change and clinical significance (Jacobson & Truax, 1991).

Each treatment episode (intake score, final score) is classified as
*recovered*, *reliably improved*, *no reliable change* or *reliably
deteriorated*, honouring the instrument's direction (higher-is-better or
lower-is-better) and explicit inclusive/exclusive threshold rules.  The reliable
change criterion is either the statistical Jacobson-Truax index (from a published
or locally estimated reliability and SD) or an instrument's published raw-point
criterion (e.g. PHQ-9: a decrease of 6 or more points in NHS Talking Therapies).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from rapport.psychometrics._validation import check_dataframe

__all__ = [
    "CHANGE_CATEGORIES",
    "ClinicalCutoffs",
    "classify_change",
    "clinical_cutoffs",
    "reliable_change_index",
    "reliable_change_points",
    "standard_error_of_difference",
]

#: Category labels, best to worst (the ``category`` column is an ordered categorical).
CHANGE_CATEGORIES = (
    "recovered",
    "reliably_improved",
    "no_reliable_change",
    "reliably_deteriorated",
)

# Relative tolerance when comparing a change with a threshold, so that e.g.
# 1.3 - 0.7 = 0.6000000000000001 counts as "exactly 0.6 points".
_REL_TOL = 1e-9


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a positive number; got {value!r}") from None
    if not (np.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return v


def _reliability(value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"reliability must be a number in (0, 1); got {value!r}") from None
    if not 0.0 < v < 1.0:
        raise ValueError(f"reliability must be strictly between 0 and 1; got {value!r}")
    return v


def standard_error_of_difference(sd: float, reliability: float) -> float:
    """Jacobson-Truax standard error of a difference score, S_diff.

    Parameters
    ----------
    sd : float
        SD of the measure, conventionally the pre-treatment (or normative) SD.
    reliability : float
        Reliability r_xx (test-retest or internal consistency), 0 < r_xx < 1.

    Returns
    -------
    float
        S_diff = sqrt(2 SE²) with SE = sd·sqrt(1 - r_xx), i.e. sd·sqrt(2(1 - r_xx)).

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical
    approach to defining meaningful change in psychotherapy research. *Journal of
    Consulting and Clinical Psychology*, 59, 12-19.

    Examples
    --------
    >>> round(standard_error_of_difference(11.83, 0.97), 2)  # J&T worked example
    2.9
    """
    sd = _positive(sd, "sd")
    r = _reliability(reliability)
    return float(sd * np.sqrt(2.0 * (1.0 - r)))


def reliable_change_points(sd: float, reliability: float, z: float = 1.96) -> float:
    """Smallest raw change that is reliable at the given z: z·S_diff.

    Examples
    --------
    >>> round(reliable_change_points(11.83, 0.97), 2)  # J&T: 5.68 points
    5.68
    """
    return float(_positive(z, "z") * standard_error_of_difference(sd, reliability))


def reliable_change_index(pre: Any, post: Any, *, sd: float, reliability: float) -> np.ndarray:
    """Jacobson-Truax reliable change index RC = (post - pre) / S_diff, vectorised.

    Parameters
    ----------
    pre, post : array-like
        Scores at intake and at the end (NaN allowed; gives NaN).
    sd, reliability : float
        See :func:`standard_error_of_difference`.

    Returns
    -------
    numpy.ndarray
        RC per episode; |RC| > 1.96 is reliable at the 5% level.  The sign is that
        of the raw change (not of improvement).

    Examples
    --------
    >>> reliable_change_index([20, 20], [8, 30], sd=10, reliability=0.82).round(4)
    array([-2.    ,  1.6667])
    """
    s = standard_error_of_difference(sd, reliability)
    pre_a = np.asarray(pre, dtype=np.float64)
    post_a = np.asarray(post, dtype=np.float64)
    if pre_a.shape != post_a.shape:
        raise ValueError(f"pre and post differ in shape: {pre_a.shape} vs {post_a.shape}")
    return (post_a - pre_a) / s


@dataclass(frozen=True)
class ClinicalCutoffs:
    """Jacobson-Truax cutoffs (see :func:`clinical_cutoffs`); None when not computable.

    Attributes
    ----------
    a : float or None
        n_sd SDs beyond the clinical mean, in the healthy direction.
    b : float or None
        n_sd SDs from the functional mean, towards the clinical side.
    c : float or None
        SD-weighted midpoint between the two means.
    higher_is_better : bool
    n_sd : float
    """

    a: float | None
    b: float | None
    c: float | None
    higher_is_better: bool
    n_sd: float

    def as_dict(self) -> dict[str, Any]:
        """Plain dict of the fields."""
        return {"a": self.a, "b": self.b, "c": self.c,
                "higher_is_better": self.higher_is_better, "n_sd": self.n_sd}  # fmt: skip


def clinical_cutoffs(
    clinical_mean: float,
    clinical_sd: float,
    functional_mean: float | None = None,
    functional_sd: float | None = None,
    *,
    higher_is_better: bool,
    n_sd: float = 2.0,
) -> ClinicalCutoffs:
    """Jacobson & Truax (1991) clinical-significance cutoffs a, b and c.

    Parameters
    ----------
    clinical_mean, clinical_sd : float
        Mean and SD of the dysfunctional (clinical) population.
    functional_mean, functional_sd : float, optional
        Mean and SD of the functional (normative) population; needed for b and c.
    higher_is_better : bool
        Direction of the measure (keyword only, no default: say which).
    n_sd : float, default 2.0
        Width for a and b; J&T use 2 SD, some software (e.g. JT-RCI) 1.96.

    Returns
    -------
    ClinicalCutoffs

    Notes
    -----
    With s = +1 when higher is better and -1 otherwise:

    - a = M_clin + s·n_sd·SD_clin (outside the range of the dysfunctional population);
    - b = M_func - s·n_sd·SD_func (within the range of the functional population);
    - c = (SD_clin·M_func + SD_func·M_clin) / (SD_clin + SD_func) (closer to the
      functional than to the dysfunctional mean, in SD units; preferred when the
      distributions overlap).

    Examples
    --------
    Marital-satisfaction (DAS) norms quoted for J&T's example (functional 114.8,
    SD 17.8; dysfunctional 70.7, SD 23.8):

    >>> cut = clinical_cutoffs(70.7, 23.8, 114.8, 17.8, higher_is_better=True)
    >>> round(cut.a, 2), round(cut.b, 2), round(cut.c, 2)
    (118.3, 79.2, 95.93)
    """
    if not isinstance(higher_is_better, bool | np.bool_):
        raise ValueError(f"higher_is_better must be True or False; got {higher_is_better!r}")
    m_c = float(clinical_mean)
    sd_c = _positive(clinical_sd, "clinical_sd")
    k = _positive(n_sd, "n_sd")
    s = 1.0 if higher_is_better else -1.0
    a = m_c + s * k * sd_c
    b = c = None
    if (functional_mean is None) != (functional_sd is None):
        raise ValueError("give both functional_mean and functional_sd, or neither")
    if functional_mean is not None:
        m_f = float(functional_mean)
        sd_f = _positive(functional_sd, "functional_sd")
        if s * (m_f - m_c) <= 0:
            better = "above" if higher_is_better else "below"
            raise ValueError(
                f"with higher_is_better={higher_is_better} the functional mean ({m_f}) "
                f"must lie {better} the clinical mean ({m_c})"
            )
        b = m_f - s * k * sd_f
        c = (sd_c * m_f + sd_f * m_c) / (sd_c + sd_f)
    return ClinicalCutoffs(float(a), b, c, bool(higher_is_better), k)


def _at_least(x: np.ndarray, threshold: float, inclusive: bool) -> np.ndarray:
    """x >= threshold (inclusive) or x > threshold, with a tiny relative tolerance."""
    tol = _REL_TOL * max(1.0, abs(threshold))
    return x >= threshold - tol if inclusive else x > threshold + tol


def classify_change(
    data: pd.DataFrame,
    pre: str,
    post: str,
    *,
    higher_is_better: bool,
    reliability: float | None = None,
    sd: float | None = None,
    rci_points: float | None = None,
    z: float = 1.96,
    rci_inclusive: bool | None = None,
    cutoff: float | None = None,
    cutoff_inclusive: bool = True,
) -> pd.DataFrame:
    """Classify treatment episodes by reliable and clinically significant change.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per episode.
    pre, post : str
        Columns with the intake and final scores (NaN allowed: category is NA).
    higher_is_better : bool
        Direction of the measure (keyword only, no default).  ORS: True; PHQ-9,
        GAD-7, OQ-45: False.
    reliability : float, optional
        r_xx for the Jacobson-Truax criterion (published, or locally estimated, e.g.
        ``reliability(items).alpha``).  Give either this or ``rci_points``.
    sd : float, optional
        SD for S_diff; default: the SD (ddof = 1) of the ``pre`` scores in ``data``
        (J&T use the pre-treatment SD).  Only with ``reliability``.
    rci_points : float, optional
        A published raw-point criterion instead (e.g. 6 for PHQ-9, 4 for GAD-7 in NHS
        Talking Therapies; 5 for ORS; 14 for OQ-45.2).
    z : float, default 1.96
        Critical value of the Jacobson-Truax index.
    rci_inclusive : bool, optional
        Whether a change exactly at the criterion counts as reliable.  Default:
        exclusive (|RC| > z, as J&T) for the statistical criterion, inclusive
        (">= rci_points", as manuals phrase it) for a raw-point criterion.
    cutoff : float, optional
        Clinical cutoff (e.g. J&T's c, PHQ-9 caseness 10, ORS 25).  Without it no
        episode is classified as recovered.
    cutoff_inclusive : bool, default True
        Whether a score exactly at the cutoff lies in the clinical range (PHQ-9
        caseness is ">= 10", ORS clinical is "<= 25": both inclusive; SRS "< 36":
        ``cutoff_inclusive=False``).

    Returns
    -------
    pandas.DataFrame
        Same index as ``data``, columns:

        - ``pre``, ``post``: the scores;
        - ``change``: post - pre;
        - ``improvement``: change signed so that positive = better;
        - ``rci``: (post - pre)/S_diff (NaN with ``rci_points``);
        - ``reliable_improvement``, ``reliable_deterioration``: nullable booleans;
        - ``clinical_pre``, ``clinical_post``: in the clinical range (NA without a
          cutoff);
        - ``category``: ordered categorical, one of ``CHANGE_CATEGORIES``.

        ``.attrs`` records ``s_diff``, ``threshold_points`` and the rules used.

    Notes
    -----
    *recovered* = reliable improvement, clinical at intake and not clinical at the
    end (NHS Talking Therapies' "reliable recovery" for one measure);
    *reliably_improved* = any other reliable improvement (cutoff not crossed, or
    not clinical at intake); *reliably_deteriorated* = reliable worsening;
    otherwise *no_reliable_change*.  Comparisons with thresholds allow a relative
    tolerance of 1e-9 so that decimal scores compare as written.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). *J Consult Clin Psychol*, 59, 12-19.
    NHS Talking Therapies manual (reliable improvement and recovery definitions).

    Examples
    --------
    PHQ-9 with the NHS Talking Therapies rules (reliable change: a decrease of 6 or
    more; caseness: 10 or more):

    >>> import pandas as pd
    >>> eps = pd.DataFrame({"intake": [15, 16, 15, 9, 5], "final": [9, 10, 11, 3, 11]})
    >>> out = classify_change(eps, "intake", "final", higher_is_better=False,
    ...                       rci_points=6, cutoff=10)
    >>> out[["change", "clinical_pre", "clinical_post", "category"]]
       change  clinical_pre  clinical_post               category
    0      -6          True          False              recovered
    1      -6          True           True      reliably_improved
    2      -4          True           True     no_reliable_change
    3      -6         False          False      reliably_improved
    4       6         False           True  reliably_deteriorated
    """
    if not isinstance(higher_is_better, bool | np.bool_):
        raise ValueError(f"higher_is_better must be True or False; got {higher_is_better!r}")
    if pre == post:
        raise ValueError("pre and post must be different columns")
    df = check_dataframe(data, [pre, post], numeric=True, min_rows=1)
    if (reliability is None) == (rci_points is None):
        raise ValueError("give exactly one of reliability= (Jacobson-Truax) or rci_points=")
    if sd is not None and reliability is None:
        raise ValueError("sd= is used with reliability=, not with rci_points=")
    x0 = df[pre].to_numpy(dtype=np.float64, na_value=np.nan)
    x1 = df[post].to_numpy(dtype=np.float64, na_value=np.nan)
    change = x1 - x0
    sign = 1.0 if higher_is_better else -1.0
    improvement = sign * change

    if reliability is not None:
        if sd is None:
            pre_ok = x0[~np.isnan(x0)]
            if pre_ok.size < 2:
                raise ValueError("need at least 2 intake scores to estimate sd; pass sd=")
            sd = float(np.std(pre_ok, ddof=1))
        s_diff = standard_error_of_difference(sd, reliability)
        zc = _positive(z, "z")
        threshold = zc * s_diff
        inclusive = False if rci_inclusive is None else bool(rci_inclusive)
        rci = change / s_diff
        # compare |RC| with z on the RC scale (J&T), i.e. the change with z * S_diff
        up = _at_least(improvement / s_diff, zc, inclusive)
        down = _at_least(-improvement / s_diff, zc, inclusive)
    else:
        s_diff = float("nan")
        threshold = _positive(rci_points, "rci_points")
        inclusive = True if rci_inclusive is None else bool(rci_inclusive)
        rci = np.full(change.shape, np.nan)
        up = _at_least(improvement, threshold, inclusive)
        down = _at_least(-improvement, threshold, inclusive)

    valid = ~np.isnan(change)
    if cutoff is not None:
        cut = float(cutoff)
        if not np.isfinite(cut):
            raise ValueError(f"cutoff must be a finite number; got {cutoff!r}")

        # the clinical range lies below the cutoff when higher is better, above otherwise
        def clinical(v: np.ndarray) -> np.ndarray:
            return _at_least(-sign * v, -sign * cut, cutoff_inclusive)

        clin0, clin1 = clinical(x0), clinical(x1)
        recovered = up & clin0 & ~clin1
    else:
        clin0 = clin1 = np.zeros(change.shape, dtype=bool)
        recovered = np.zeros(change.shape, dtype=bool)

    codes = np.select([recovered, up, down], [0, 1, 3], default=2)
    codes = np.where(valid, codes, -1)
    category = pd.Categorical.from_codes(
        codes, categories=pd.Index(CHANGE_CATEGORIES), ordered=True
    )

    def nullable(mask: np.ndarray, ok: np.ndarray) -> pd.arrays.BooleanArray:
        return pd.arrays.BooleanArray(mask & ok, ~ok)

    out = pd.DataFrame(
        {
            "pre": df[pre].to_numpy(),
            "post": df[post].to_numpy(),
            "change": change,
            "improvement": improvement,
            "rci": rci,
            "reliable_improvement": nullable(up, valid),
            "reliable_deterioration": nullable(down, valid),
            "clinical_pre": nullable(clin0, ~np.isnan(x0) & (cutoff is not None)),
            "clinical_post": nullable(clin1, ~np.isnan(x1) & (cutoff is not None)),
            "category": category,
        },
        index=df.index,
    )
    if not (np.isnan(x0).any() or np.isnan(x1).any()) and _all_integer(df, pre, post):
        out["change"] = out["change"].astype(np.int64)
        out["improvement"] = out["improvement"].astype(np.int64)
    out.attrs.update(
        {
            "higher_is_better": bool(higher_is_better),
            "criterion": "jacobson_truax" if reliability is not None else "points",
            "s_diff": s_diff,
            "threshold_points": float(threshold),
            "rci_inclusive": inclusive,
            "cutoff": cutoff,
            "cutoff_inclusive": bool(cutoff_inclusive),
            "sd": sd,
            "reliability": reliability,
        }
    )
    return out


def _all_integer(df: pd.DataFrame, *cols: str) -> bool:
    return all(pd.api.types.is_integer_dtype(df[c].dtype) for c in cols)
