"""Scores as FHIR R4 ``Observation`` resources (category ``survey``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rapport.instruments.fhir.elements import check_fhir_id, fhir_datetime, fhir_id
from rapport.instruments.fhir.systems import (
    DATA_ABSENT_REASON,
    DEFAULT_BASE_URL,
    LOINC,
    OBSERVATION_CATEGORY,
    SCORE_UNIT,
    UCUM,
    RapportSystems,
)
from rapport.instruments.fhir.validation import validate_resource
from rapport.instruments.model import Instrument, ScoreResult

CLINICAL_RANGE_FLAG = "clinical-range"


def score_observations(
    instrument: Instrument,
    score: ScoreResult,
    *,
    subject_reference: str,
    effective: datetime,
    derived_from: str,
    id_prefix: str,
    base_url: str = DEFAULT_BASE_URL,
) -> list[dict[str, Any]]:
    """Return validated Observations for a score: the total first, then one per subscale.

    Parameters
    ----------
    instrument : Instrument
        The instrument that produced ``score`` (same id and version).
    score : ScoreResult
    subject_reference : str
        For example ``"Patient/123"``.
    effective : datetime
        When the instrument was answered; must be timezone-aware.
    derived_from : str
        Reference to the QuestionnaireResponse, e.g. ``"QuestionnaireResponse/qr-1"``.
    id_prefix : str
        Observation ids are ``{id_prefix}-total`` and ``{id_prefix}-{subscale}``
        (underscores become hyphens).
    base_url : str
        Base of Rapport's code systems.

    Returns
    -------
    list of dict
        Status ``final``, category ``survey``, ``code`` = the LOINC total code
        where there is one (PHQ-9 44261-6, GAD-7 70274-6), else
        ``<instrument>.total`` / ``<instrument>.<subscale>`` in Rapport's
        scores code system; ``valueQuantity`` in UCUM ``{score}``, or
        ``dataAbsentReason`` ``error`` when too many items were missing. A
        total computed despite missing items carries the ``rapport-estimated``
        extension (``valueBoolean`` true) and a ``note`` naming the missing
        items. The total's ``interpretation`` lists the band, ``clinical-range`` when the
        total is at or beyond the clinical cutoff, and each raised flag such as
        ``critical:phq9_9``.

    Raises
    ------
    ValueError
        ``score`` belongs to another instrument or version, a bad ``id_prefix``,
        or a naive ``effective``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from rapport.instruments import load_registry
    >>> phq9 = load_registry()["phq9"]
    >>> score = phq9.score(dict.fromkeys(phq9.item_ids, 2))
    >>> total, = score_observations(phq9, score, subject_reference="Patient/p1",
    ...     effective=datetime(2025, 3, 1, tzinfo=timezone.utc),
    ...     derived_from="QuestionnaireResponse/qr-1", id_prefix="obs-1")
    >>> total["code"]["coding"], total["valueQuantity"]["value"]
    ([{'system': 'http://loinc.org', 'code': '44261-6'}], 18)
    >>> [coding["code"] for concept in total["interpretation"] for coding in concept["coding"]]
    ['phq9.moderately_severe', 'clinical-range', 'critical:phq9_9']
    """
    if (score.instrument, score.version) != (instrument.id, instrument.version):
        raise ValueError(
            f"the score is for {score.instrument} version {score.version}, "
            f"not {instrument.id} version {instrument.version}"
        )
    check_fhir_id(f"{id_prefix}-total", "id_prefix")
    systems = RapportSystems(base_url)
    common = {
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "subject": {"reference": subject_reference},
        "effectiveDateTime": fhir_datetime(effective, "effective"),
        "derivedFrom": [{"reference": derived_from}],
    }
    title = instrument.title[instrument.languages[0]]
    total_coding = (
        {"system": LOINC, "code": instrument.total_loinc}
        if instrument.total_loinc
        else {"system": systems.scores, "code": f"{instrument.id}.total"}
    )
    total = _observation(
        f"{id_prefix}-total", total_coding, f"{title}: total score", score.total, instrument
    )
    interpretation = _interpretation(instrument, score, systems)
    if interpretation:
        total["interpretation"] = interpretation
    if score.estimated:
        total |= _estimated(instrument, score, systems)
    observations = [total]
    for subscale in instrument.subscales:
        name = subscale.title[instrument.languages[0]]
        observations.append(
            _observation(
                fhir_id(f"{id_prefix}-{subscale.id}"),
                {"system": systems.scores, "code": f"{instrument.id}.{subscale.id}"},
                f"{title}: {name} subscale score",
                score.subscales.get(subscale.id),
                instrument,
            )
        )
    resources = [
        {"resourceType": "Observation", "id": observation.pop("id"), **common, **observation}
        for observation in observations
    ]
    for resource in resources:
        validate_resource(resource)
    return resources


def _observation(
    observation_id: str,
    coding: dict[str, str],
    text: str,
    value: float | None,
    instrument: Instrument,
) -> dict[str, Any]:
    observation: dict[str, Any] = {"id": observation_id, "code": {"coding": [coding], "text": text}}
    if value is None:
        observation["dataAbsentReason"] = {
            "coding": [{"system": DATA_ABSENT_REASON, "code": "error", "display": "Error"}],
            "text": "Too many items missing to score",
        }
    else:
        number = round(value, instrument.decimals)
        observation["valueQuantity"] = {
            "value": int(number) if instrument.decimals == 0 else number,
            "unit": SCORE_UNIT,
            "system": UCUM,
            "code": SCORE_UNIT,
        }
    return observation


def _interpretation(
    instrument: Instrument, score: ScoreResult, systems: RapportSystems
) -> list[dict[str, Any]]:
    concepts = []
    band = instrument.band_for(score.total)
    if band is not None:
        display = band.text.get(instrument.languages[0], band.label)
        concepts.append(_concept(systems.bands, f"{instrument.id}.{band.label}", display))
    if instrument.is_clinical(score.total):
        cutoff = f"At or beyond the clinical cutoff ({instrument.clinical_cutoff:g})"
        concepts.append(_concept(systems.flags, CLINICAL_RANGE_FLAG, cutoff))
    concepts.extend(_concept(systems.flags, flag, flag) for flag in score.flags)
    return concepts


def _estimated(
    instrument: Instrument, score: ScoreResult, systems: RapportSystems
) -> dict[str, Any]:
    """Mark a total that stands in for unanswered items, for machines and for readers."""
    how = "prorated" if instrument.scoring == "sum" else "the mean of the answered items"
    return {
        "extension": [{"url": systems.estimated_extension, "valueBoolean": True}],
        "note": [
            {
                "text": f"Estimated total ({how}): {score.answered} of "
                f"{len(instrument.scored_item_ids)} scored items answered; not answered: "
                f"{', '.join(score.missing)}."
            }
        ],
    }


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}
