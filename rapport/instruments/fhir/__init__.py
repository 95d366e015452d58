"""FHIR R4 mapping for instruments and administrations (pure Python, no Django).

* :func:`questionnaire_from_instrument` / :func:`instrument_definition_from_questionnaire`
* :func:`questionnaire_response` / :func:`answers_from_questionnaire_response`
* :func:`score_observations`, :func:`bundle`, :func:`validate_resource`

JSON dicts in and out; every resource produced is validated with the
``fhir.resources`` models first. The mapping is documented in ``docs/fhir.md``.
"""

from rapport.instruments.fhir.definition import definition_yaml, instrument_definition
from rapport.instruments.fhir.errors import FHIRImportError, FHIRValidationError
from rapport.instruments.fhir.observations import score_observations
from rapport.instruments.fhir.questionnaire import (
    instrument_definition_from_questionnaire,
    questionnaire_from_instrument,
)
from rapport.instruments.fhir.response import (
    answers_from_questionnaire_response,
    questionnaire_canonical,
    questionnaire_response,
)
from rapport.instruments.fhir.systems import DEFAULT_BASE_URL, RapportSystems
from rapport.instruments.fhir.validation import bundle, validate_resource

__all__ = [
    "DEFAULT_BASE_URL",
    "FHIRImportError",
    "FHIRValidationError",
    "RapportSystems",
    "answers_from_questionnaire_response",
    "bundle",
    "definition_yaml",
    "instrument_definition",
    "instrument_definition_from_questionnaire",
    "questionnaire_canonical",
    "questionnaire_from_instrument",
    "questionnaire_response",
    "score_observations",
    "validate_resource",
]
