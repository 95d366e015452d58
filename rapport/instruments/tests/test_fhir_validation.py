"""validate_resource (fhir.resources R4B models + R4 required codes), bundle(), doctests."""

from __future__ import annotations

import doctest
import importlib

import pytest

from rapport.instruments.fhir import FHIRValidationError, bundle, validate_resource

FHIR_MODULES = [
    "definition",
    "elements",
    "observations",
    "questionnaire",
    "response",
    "systems",
    "validation",
]


@pytest.mark.parametrize("name", FHIR_MODULES)
def test_docstring_examples_run(name) -> None:
    module = importlib.import_module(f"rapport.instruments.fhir.{name}")
    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failures == 0


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ("Questionnaire", "not a FHIR resource"),
        ({"status": "active"}, "not a FHIR resource"),
        ({"resourceType": "Questionaire"}, "unknown FHIR resource type 'Questionaire'"),
        ({"resourceType": "Questionnaire"}, "Value for the field 'status' is required"),
        ({"resourceType": "Questionnaire", "status": "active", "colour": 1}, "colour"),
        (
            {"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "id": "a_b"},
            "id",
        ),
        (
            {"resourceType": "Questionnaire", "status": "published"},
            "Questionnaire.status: 'published' is not one of draft, active",
        ),
        (
            {
                "resourceType": "Questionnaire",
                "status": "active",
                "item": [
                    {"linkId": "g", "type": "group", "item": [{"linkId": "q", "type": "pick"}]}
                ],
            },
            r"Questionnaire.item\[0\].item\[0\].type: 'pick'",
        ),
        (
            {"resourceType": "QuestionnaireResponse", "status": "done"},
            "QuestionnaireResponse.status: 'done'",
        ),
        (
            {"resourceType": "Observation", "status": "ok", "code": {"text": "x"}},
            "Observation.status: 'ok'",
        ),
        ({"resourceType": "Bundle", "type": "pile"}, "Bundle.type: 'pile'"),
        (
            {
                "resourceType": "Bundle",
                "type": "collection",
                "entry": [{"resource": {"resourceType": "Questionnaire", "status": "gone"}}],
            },
            r"Bundle.entry\[0\]: Questionnaire.status: 'gone'",
        ),
    ],
)
def test_invalid_resources_raise_with_a_clear_message(resource, message) -> None:
    with pytest.raises(FHIRValidationError, match=message):
        validate_resource(resource)


def test_fhir_validation_error_is_a_value_error() -> None:
    assert issubclass(FHIRValidationError, ValueError)


def test_bundle_refuses_unsupported_types_and_invalid_entries() -> None:
    with pytest.raises(ValueError, match="bundle_type must be one of collection, transaction"):
        bundle([], bundle_type="document")
    with pytest.raises(FHIRValidationError, match="Questionnaire"):
        bundle([{"resourceType": "Questionnaire"}])
    assert bundle([], bundle_type="batch") == {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [],
    }
