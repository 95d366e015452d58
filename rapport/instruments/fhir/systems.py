"""Canonical URLs: FHIR core extensions, LOINC, and Rapport's own code systems.

Every Rapport URL hangs off one configurable base (``base_url``, default
:data:`DEFAULT_BASE_URL`). A clinic that publishes its Questionnaires under its
own domain passes the same ``base_url`` when exporting and importing; see
``docs/fhir.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BASE_URL = "https://rapport.example/fhir"

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
DATA_ABSENT_REASON = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
# R4 core extensions: https://hl7.org/fhir/R4/extension-translation.html and
# https://hl7.org/fhir/R4/extension-ordinalvalue.html (contexts Coding and
# Questionnaire.item.answerOption; iso21090-CO-value is its STU3 predecessor).
TRANSLATION = "http://hl7.org/fhir/StructureDefinition/translation"
ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/ordinalValue"
LEGACY_ORDINAL_VALUE = "http://hl7.org/fhir/StructureDefinition/iso21090-CO-value"

SCORE_UNIT = "{score}"


@dataclass(frozen=True)
class RapportSystems:
    """Rapport's code systems and extension URL under one base.

    Examples
    --------
    >>> RapportSystems("https://clinic.example/fhir").instruments
    'https://clinic.example/fhir/CodeSystem/rapport-instruments'
    """

    base_url: str = DEFAULT_BASE_URL

    def __post_init__(self) -> None:
        if not self.base_url.startswith(("https://", "http://")) or self.base_url.endswith("/"):
            raise ValueError(
                f"base_url must be an absolute http(s) URL without a trailing slash "
                f"(got {self.base_url!r})"
            )

    def _url(self, kind: str, name: str) -> str:
        return f"{self.base_url}/{kind}/{name}"

    @property
    def instruments(self) -> str:
        """Codes are instrument ids (``Questionnaire.code`` and ``identifier``)."""
        return self._url("CodeSystem", "rapport-instruments")

    @property
    def answer_values(self) -> str:
        """Codes are option values as text (``"0"``, ``"2.5"``), for options without LOINC."""
        return self._url("CodeSystem", "rapport-answer-values")

    @property
    def scores(self) -> str:
        """Codes ``<instrument>.total`` and ``<instrument>.<subscale>`` (Observation.code)."""
        return self._url("CodeSystem", "rapport-scores")

    @property
    def bands(self) -> str:
        """Codes ``<instrument>.<band label>`` (Observation.interpretation)."""
        return self._url("CodeSystem", "rapport-score-bands")

    @property
    def flags(self) -> str:
        """Codes ``clinical-range``, ``critical:<item>`` and ``unanswered:<item>``
        (Observation.interpretation)."""
        return self._url("CodeSystem", "rapport-score-flags")

    @property
    def scoring_extension(self) -> str:
        """The extension on Questionnaire holding the scoring block as canonical JSON."""
        return self._url("StructureDefinition", "rapport-scoring")

    @property
    def estimated_extension(self) -> str:
        """The extension on a score Observation whose total was estimated (prorated)."""
        return self._url("StructureDefinition", "rapport-estimated")

    def questionnaire_url(self, instrument_id: str) -> str:
        """The canonical URL of an instrument's Questionnaire (version goes after ``|``)."""
        return self._url("Questionnaire", instrument_id)
