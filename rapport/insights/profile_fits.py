"""The clinic-wide fits behind the therapist relationship profiles, in a storable layout.

The random-intercept models (:mod:`rapport.psychometrics.multilevel`) are fitted on every
episode of the clinic at once, because a therapist's estimate is only meaningful against
everybody's. :func:`clinic_fits` fits them on the per-episode measures the insight
snapshot has just read (:func:`rapport.insights.snapshots.refresh`), so a profile page
never waits for the fitting, and returns JSON (stored in
:attr:`rapport.insights.models.InsightSnapshot.profiles`)::

    {"version": FITS_VERSION, "schema": reports.SCHEMA,
     "models": {column: model summary or None (too few answers to fit)},
     "gaps": [[characteristic, group, model summary], ...],
     "therapists": {therapist_key(id): {"caseload": episodes,
                                        "measures": {column: row},
                                        "gaps": [[index into "gaps", row], ...]}},
     "columns": {"measure": MEASURE_ROW, "gap": GAP_ROW}}

A row is a list of the figures named in ``columns`` (lists, not objects: a tenth of the
size and of the time to build at 2,500 therapists).

Per-therapist rows are kept under one key per therapist, so the reader
(:func:`rapport.insights.profiles.therapist_profile`) can load one therapist's rows and
the clinic's summaries and nothing of the other therapists.  NaN is stored as ``null``
(JSON, and PostgreSQL's jsonb, have no NaN).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext_lazy as _

from rapport.insights import reports
from rapport.psychometrics.multilevel import (
    group_gaps,
    random_intercepts,
    random_intercepts_binary,
)

#: The measures of the profile: (column of the episode frame, label, model kind).
MEASURES = (
    ("trust_mean", _("Trust (mean of the client's check-ins)"), "linear"),
    ("alliance_mean", _("Working alliance (mean of the client's check-ins)"), "linear"),
    ("openness_mean", _("Openness (mean of the client's check-ins)"), "linear"),
    ("outcome_improvement", _("Outcome change (PHQ-9 points improved)"), "linear"),
    ("dropout", _("Dropout (closed episodes that ended in dropout)"), "binary"),
)

#: Client characteristics whose within-therapist trust gap is shown.
GAP_CHARACTERISTICS = (
    ("race_ethnicity", _("Race / ethnicity")),
    ("language", _("Preferred language")),
)

#: Bumped when the layout or the fitting changes: stored fits of another version are
#: not used (the profile computes its own until the next snapshot refresh).
FITS_VERSION = 1

#: The figures of a row that the profile uses, in their stored order.
MEASURE_ROW = ("n", "raw_mean", "estimate", "ci_low", "ci_high", "shrinkage")
GAP_ROW = ("n_focal", "n_rest", "enough", "gap", "ci_low", "ci_high")


def therapist_key(therapist_id: int) -> str:
    """The key of a therapist's rows.  Not the bare number: Django's JSON key lookups
    would take a numeric key for an array index."""
    return f"t{int(therapist_id)}"


def profile_measures(per_episode: pd.DataFrame) -> pd.DataFrame:
    """The columns the fits need from :func:`rapport.insights.reports.episode_measures`'
    frame, with one race/ethnicity group per client and the language label."""
    labels = reports.group_labels(per_episode)
    measures = per_episode[["therapist", *(column for column, _l, _k in MEASURES)]].copy()
    measures["race_ethnicity"] = labels["race_ethnicity"].map(reports.exclusive_race)
    measures["language"] = labels["language"]
    return measures


def _plain(value: Any) -> Any:
    """``value`` as JSON takes it: Python numbers, lists, None for NaN."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return None if math.isnan(value) else float(value)
    return value


def _rows(fit: pd.DataFrame, columns: tuple[str, ...]) -> dict[str, list[Any]]:
    """``fit``'s rows by therapist key: lists of the figures in ``columns``."""
    keys = [therapist_key(t) for t in fit["therapist"].tolist()]
    frame = fit[list(columns)].astype(object)  # Python numbers, NaN -> None (vectorised)
    values = frame.where(frame.notna(), None).to_numpy().tolist()
    return dict(zip(keys, values, strict=True))


def row(stored: list[Any], columns: tuple[str, ...]) -> dict[str, Any]:
    """A stored row with its figures named (``MEASURE_ROW`` or ``GAP_ROW``)."""
    return dict(zip(columns, stored, strict=True))


def clinic_fits(measures: pd.DataFrame) -> dict[str, Any]:
    """Fit every profile model on ``measures`` (:func:`profile_measures` of the whole
    clinic) and lay the results out per therapist (module docstring)."""
    caseloads = measures.groupby("therapist").size()
    therapists: dict[str, dict[str, Any]] = {
        therapist_key(t): {"caseload": int(n), "measures": {}, "gaps": []}
        for t, n in zip(caseloads.index.tolist(), caseloads.tolist(), strict=True)
    }
    models: dict[str, Any] = {}
    for column, _label, kind in MEASURES:
        fit = random_intercepts_binary if kind == "binary" else random_intercepts
        try:
            result = fit(measures, column)
        except ValueError:
            models[column] = None  # too few answers or therapists to fit
            continue
        models[column] = _plain(result.attrs["model"])
        for key, values in _rows(result, MEASURE_ROW).items():
            therapists[key]["measures"][column] = values
    gaps: list[list[Any]] = []
    for characteristic, _label in GAP_CHARACTERISTICS:
        groups = measures[characteristic]
        known = measures[groups != reports.MISSING]
        for group in sorted(set(groups.dropna().unique()) - {reports.MISSING}):
            try:
                result = group_gaps(known, "trust_mean", characteristic, group)
            except ValueError:
                continue
            index = len(gaps)
            gaps.append([characteristic, group, _plain(result.attrs["model"])])
            for key, values in _rows(result, GAP_ROW).items():
                therapists[key]["gaps"].append([index, values])
    return {
        "version": FITS_VERSION,
        "schema": reports.SCHEMA,
        "models": models,
        "gaps": gaps,
        "therapists": therapists,
        "columns": {"measure": MEASURE_ROW, "gap": GAP_ROW},
    }
