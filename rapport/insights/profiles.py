"""A therapist's relationship profile: their clients against the clinic, with shrinkage.

The models (rapport.psychometrics.multilevel) are fitted on every episode of the clinic,
once per organisation and cache period, because a therapist's estimate is only
meaningful against everybody's: the clinic mean and the between-therapist variance set
how far a small caseload is pulled in.  What leaves this module is one therapist's row
of each fit (and the clinic's figures), never the other therapists' rows: the profile
is feedback for one therapist, not a league table (access rule:
:func:`rapport.security.access.may_see_therapist_profile`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.core.cache import cache
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rapport.clinic.models import Organisation
from rapport.core.instruments import instruments as installed_instruments
from rapport.insights import data, reports, snapshots
from rapport.psychometrics.multilevel import (
    MIN_CLIENTS_PER_GROUP,
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

_CACHE_VERSION = 1


def _between(low: str, high: str) -> str:
    return gettext("%(low)s to %(high)s") % {"low": low, "high": high}


@dataclass
class Estimate:
    """One measure for one therapist against the clinic."""

    label: str
    kind: str
    n: int
    raw: float
    estimate: float
    low: float
    high: float
    clinic: float
    clinic_low: float
    clinic_high: float
    shrinkage: float

    def _text(self, value: float) -> str:
        return f"{value:.0%}" if self.kind == "binary" else f"{value:.2f}"

    @property
    def shown(self) -> dict[str, str]:
        """The figures as the page prints them: rates in per cent, means to 2 decimals."""
        return {
            "raw": self._text(self.raw),
            "estimate": self._text(self.estimate),
            "interval": _between(self._text(self.low), self._text(self.high)),
            "clinic": self._text(self.clinic),
            "clinic_interval": _between(self._text(self.clinic_low), self._text(self.clinic_high)),
            "own_weight": f"{self.shrinkage:.0%}",
        }

    @property
    def differs(self) -> str:
        """ "above", "below" or "" (the interval overlaps the clinic's estimate)."""
        if self.low > self.clinic:
            return "above"
        if self.high < self.clinic:
            return "below"
        return ""


@dataclass
class Gap:
    """The trust gap of one client group against the therapist's other clients."""

    characteristic: str
    group: str
    n_group: int
    n_rest: int
    enough: bool
    clinic_too_small: bool = False
    gap: float | None = None
    low: float | None = None
    high: float | None = None
    clinic_gap: float | None = None

    @property
    def shown(self) -> dict[str, str]:
        if self.gap is None or self.low is None or self.high is None:
            return {}
        clinic = "" if self.clinic_gap is None else f"{self.clinic_gap:+.2f}"
        return {
            "gap": f"{self.gap:+.2f}",
            "interval": _between(f"{self.low:+.2f}", f"{self.high:+.2f}"),
            "clinic": clinic,
        }


@dataclass
class Profile:
    therapist_id: int
    n_clients: int
    estimates: list[Estimate] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # measures without enough data
    gaps: list[Gap] = field(default_factory=list)
    min_per_group: int = MIN_CLIENTS_PER_GROUP


def clinic_measures(organisation: Organisation) -> pd.DataFrame:
    """Every episode of the clinic with its profile measures and group labels."""
    registry = installed_instruments()
    administrations = data.administrations(
        organisation, {i.id: i.item_ids for i in registry.values()}
    )
    instruments = [registry[i] for i in administrations.summaries if i in registry]
    summaries = {i.id: administrations.summaries[i.id] for i in instruments}
    episodes = data.episodes(organisation)
    measures = reports.episode_measures(episodes, summaries, instruments, registry)
    labels = reports.group_labels(measures)
    measures["race_ethnicity"] = labels["race_ethnicity"].map(reports.exclusive_race)
    measures["language"] = labels["language"]
    return measures


def _fits(organisation: Organisation) -> dict[str, Any]:
    """The clinic-wide fits, cached for as long as the insight figures are fresh."""
    key = f"rapport:therapist-profiles:{_CACHE_VERSION}:{organisation.pk}"
    fits = cache.get(key)
    if fits is not None:
        return fits
    measures = clinic_measures(organisation)
    fits = {"caseloads": measures.groupby("therapist").size().to_dict(), "measures": {}}
    for column, _label, kind in MEASURES:
        fit = random_intercepts_binary if kind == "binary" else random_intercepts
        try:
            fits["measures"][column] = fit(measures, column)
        except ValueError:
            fits["measures"][column] = None  # too few answers or therapists to fit
    fits["gaps"] = {}
    for characteristic, _label in GAP_CHARACTERISTICS:
        groups = measures[characteristic]
        for group in sorted(set(groups.dropna()) - {reports.MISSING}):
            known = measures[groups != reports.MISSING]
            try:
                fits["gaps"][(characteristic, group)] = group_gaps(
                    known, "trust_mean", characteristic, group
                )
            except ValueError:
                continue
    cache.set(key, fits, timeout=snapshots.max_age().total_seconds())
    return fits


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def therapist_profile(organisation: Organisation, therapist_id: int) -> Profile:
    """The profile of one therapist (only their rows of the clinic-wide fits)."""
    fits = _fits(organisation)
    profile = Profile(therapist_id, int(fits["caseloads"].get(therapist_id, 0)))
    for column, label, kind in MEASURES:
        fit = fits["measures"][column]
        rows = None if fit is None else fit[fit["therapist"] == therapist_id]
        if rows is None or rows.empty:
            profile.missing.append(str(label))
            continue
        row, model = rows.iloc[0], fit.attrs["model"]
        profile.estimates.append(
            Estimate(
                label=str(label),
                kind=kind,
                n=int(row["n"]),
                raw=float(row["raw_mean"]),
                estimate=float(row["estimate"]),
                low=float(row["ci_low"]),
                high=float(row["ci_high"]),
                clinic=model["clinic_estimate"],
                clinic_low=model["clinic_ci"][0],
                clinic_high=model["clinic_ci"][1],
                shrinkage=float(row["shrinkage"]),
            )
        )
    for (characteristic, group), gaps in fits["gaps"].items():
        rows = gaps[gaps["therapist"] == therapist_id]
        if rows.empty or rows.iloc[0]["n_focal"] == 0:
            continue
        row = rows.iloc[0]
        # Enough clients here, but no gap: too few therapists have clients in both groups
        # for the clinic-wide model (nothing to shrink towards).
        enough = bool(row["enough"]) and _number(float(row["gap"])) is not None
        profile.gaps.append(
            Gap(
                characteristic=str(dict(GAP_CHARACTERISTICS)[characteristic]),
                group=str(group),
                n_group=int(row["n_focal"]),
                n_rest=int(row["n_rest"]),
                enough=enough,
                clinic_too_small=bool(row["enough"]) and not enough,
                gap=_number(float(row["gap"])) if enough else None,
                low=_number(float(row["ci_low"])) if enough else None,
                high=_number(float(row["ci_high"])) if enough else None,
                clinic_gap=gaps.attrs["model"].get("clinic_gap") if enough else None,
            )
        )
    return profile
