"""Psychometric and clinical-change statistics for Rapport (pure Python, no Django).

DataFrame in, tidy DataFrame or a small result object out.  See ``docs/psychometrics.md``.
One import statement per module (names re-exported on purpose, hence ``noqa: F401``),
so that adding a module is a one-line edit.
"""

from rapport.psychometrics._validation import check_dataframe  # noqa: F401
from rapport.psychometrics.change import (  # noqa: F401
    CHANGE_CATEGORIES,
    ClinicalCutoffs,
    classify_change,
    clinical_cutoffs,
    reliable_change_index,
    reliable_change_points,
    standard_error_of_difference,
)
from rapport.psychometrics.correlation import (  # noqa: F401
    ComparisonResult,
    CorrelationResult,
    compare_fixed,
    compare_independent,
    correlate,
    fisher_ci,
)
from rapport.psychometrics.dif import dif  # noqa: F401
from rapport.psychometrics.equity import (  # noqa: F401
    age_band,
    diff_means_welch,
    diff_proportions_newcombe,
    equity,
    mean_ci,
    proportion_ci,
)
from rapport.psychometrics.reliability import (  # noqa: F401
    OmegaResult,
    ReliabilityResult,
    feldt_ci,
    omega_total,
    r_qf,
    reliability,
)
from rapport.psychometrics.suppression import (  # noqa: F401
    feasible_ranges,
    may_replace,
    percentages,
    suppress_counts,
    suppress_rows,
    suppression_mask,
)
from rapport.psychometrics.trajectories import (  # noqa: F401
    ExpectedResponseModel,
    expected_trajectory,
    fit_expected_response,
    is_off_track,
)
