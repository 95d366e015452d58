"""A therapist's relationship profile: their clients against the clinic, with shrinkage.

The models are fitted on every episode of the clinic (:mod:`rapport.insights.profile_fits`),
because a therapist's estimate is only meaningful against everybody's: the clinic mean
and the between-therapist variance set how far a small caseload is pulled in.  The fits
are computed when the insight snapshot is refreshed and stored with it; a page reads one
therapist's rows of them from the database.  Only while there is no fresh snapshot (same
freshness rule as the insight pages) are they computed here, once per organisation and
cache period.  What leaves this module is one therapist's row of each fit (and the
clinic's figures), never the other therapists' rows: the profile is feedback for one
therapist, not a league table (access rule:
:func:`rapport.security.access.may_see_therapist_profile`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from django.core.cache import cache
from django.utils.translation import gettext

from rapport.clinic.models import Organisation
from rapport.insights import profile_fits, reports, snapshots
from rapport.insights.models import InsightSnapshot
from rapport.insights.profile_fits import GAP_CHARACTERISTICS, MEASURES, therapist_key
from rapport.psychometrics.multilevel import MIN_CLIENTS_PER_GROUP

__all__ = ["GAP_CHARACTERISTICS", "MEASURES", "Profile", "clinic_measures", "therapist_profile"]

_CACHE_VERSION = 2


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
    return profile_fits.profile_measures(reports.read_episode_measures(organisation).per_episode)


def _computed_fits(organisation: Organisation) -> dict[str, Any]:
    """The clinic-wide fits computed now, cached for as long as the insight figures are
    fresh (the fallback while there is no fresh snapshot)."""
    key = f"rapport:therapist-profiles:{_CACHE_VERSION}:{organisation.pk}"
    fits = cache.get(key)
    if fits is None:
        fits = profile_fits.clinic_fits(clinic_measures(organisation))
        cache.set(key, fits, timeout=snapshots.max_age().total_seconds())
    return fits


def _stored_rows(organisation: Organisation, therapist_id: int) -> dict[str, Any] | None:
    """The clinic's model summaries and one therapist's rows, as stored with the newest
    snapshot (only these parts of the JSON are loaded); None when that snapshot is
    missing, not fresh, or holds no fits of the current version."""
    parts = ("version", "schema", "models", "gaps", "therapists__" + therapist_key(therapist_id))
    stored = (
        InsightSnapshot.objects.filter(organisation=organisation)
        .order_by("-computed_at")
        .values_list("computed_at", *(f"profiles__{part}" for part in parts))
        .first()
    )
    if stored is None:
        return None
    computed_at, version, schema, models, gaps, therapist = stored
    if version != profile_fits.FITS_VERSION or not snapshots.is_fresh(computed_at, schema):
        return None
    return {"models": models, "gaps": gaps, "therapist": therapist}


def _computed_rows(organisation: Organisation, therapist_id: int) -> dict[str, Any]:
    """The same parts as :func:`_stored_rows`, picked from fits computed now."""
    fits = _computed_fits(organisation)
    return {
        "models": fits["models"],
        "gaps": fits["gaps"],
        "therapist": fits["therapists"].get(therapist_key(therapist_id)),
    }


def _float(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _number(value: Any) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def therapist_profile(organisation: Organisation, therapist_id: int) -> Profile:
    """The profile of one therapist (only their rows of the clinic-wide fits)."""
    fits = _stored_rows(organisation, therapist_id) or _computed_rows(organisation, therapist_id)
    own = fits["therapist"] or {"caseload": 0, "measures": {}, "gaps": []}
    profile = Profile(therapist_id, int(own["caseload"]))
    for column, label, kind in MEASURES:
        model, stored = fits["models"][column], own["measures"].get(column)
        if model is None or stored is None:
            profile.missing.append(str(label))
            continue
        row = profile_fits.row(stored, profile_fits.MEASURE_ROW)
        profile.estimates.append(
            Estimate(
                label=str(label),
                kind=kind,
                n=int(row["n"]),
                raw=_float(row["raw_mean"]),
                estimate=_float(row["estimate"]),
                low=_float(row["ci_low"]),
                high=_float(row["ci_high"]),
                clinic=model["clinic_estimate"],
                clinic_low=model["clinic_ci"][0],
                clinic_high=model["clinic_ci"][1],
                shrinkage=_float(row["shrinkage"]),
            )
        )
    for index, stored in own["gaps"]:
        characteristic, group, model = fits["gaps"][index]
        row = profile_fits.row(stored, profile_fits.GAP_ROW)
        if row["n_focal"] == 0:
            continue
        # Enough clients here, but no gap: too few therapists have clients in both groups
        # for the clinic-wide model (nothing to shrink towards).
        enough = bool(row["enough"]) and _number(_float(row["gap"])) is not None
        profile.gaps.append(
            Gap(
                characteristic=str(dict(GAP_CHARACTERISTICS)[characteristic]),
                group=gettext(str(group)),
                n_group=int(row["n_focal"]),
                n_rest=int(row["n_rest"]),
                enough=enough,
                clinic_too_small=bool(row["enough"]) and not enough,
                gap=_number(_float(row["gap"])) if enough else None,
                low=_number(_float(row["ci_low"])) if enough else None,
                high=_number(_float(row["ci_high"])) if enough else None,
                clinic_gap=model.get("clinic_gap") if enough else None,
            )
        )
    return profile
