"""Instrument <-> FHIR R4 Questionnaire: validity, LOINC codes, round trip, import reports."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path
from typing import Any

import pytest

from rapport.instruments import Instrument, load_definition
from rapport.instruments.fhir import (
    FHIRImportError,
    FHIRValidationError,
    RapportSystems,
    definition_yaml,
    instrument_definition,
    instrument_definition_from_questionnaire,
    questionnaire_from_instrument,
    validate_resource,
)
from rapport.instruments.fhir.systems import ORDINAL_VALUE, TRANSLATION

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "wai_sr_placeholder.yaml"
LOINC = "http://loinc.org"

# LOINC codes, checked against public FHIR content:
# - panels 44249-1 (PHQ-9) and 69737-5 (GAD-7), item codes and answer list LL358-3
#   (LA6568-5 = 0, LA6569-3 = 1, LA6570-1 = 2, LA6571-9 = 3):
#   medizininformatik-initiative/kerndatensatzmodul-proms,
#   input/fsh/definitions/phq-9/mii-qst-pro-phq-9.fsh (PHQ-9 panel, items, answers with
#   ordinalValue); HL7/personal-health-record-format-ig,
#   input/fsh/pghd/instance/Questionnaire-ScoredAssessment-GAD7.fsh (GAD-7 panel, items,
#   answers) and input/fsh/pghd/examples/Mind/QuestionnaireResponse-ScoredAssessment-PHQ9.fsh
#   (the nine PHQ-9 item codes in order).
PHQ9_ITEMS = [
    "44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3",
    "44260-8", "69722-7",
]  # fmt: skip
GAD7_ITEMS = [
    "69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7", "69722-7",
]  # fmt: skip
LL358_3 = [("LA6568-5", 0), ("LA6569-3", 1), ("LA6570-1", 2), ("LA6571-9", 3)]
LL359_1 = [("LA6572-7", 0), ("LA6573-5", 1), ("LA6575-0", 2), ("LA6574-3", 3)]


def every_instrument(registry) -> list[Instrument]:
    return [*registry.all_versions(), load_definition(EXAMPLE)]


def load_text(tmp_path: Path, text: str) -> Instrument:
    path = tmp_path / "imported.yaml"
    path.write_text(text, encoding="utf-8")
    return load_definition(path)


def questions(resource: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in resource["item"] if item["type"] == "choice"]


def assert_same_instrument(loaded: Instrument, original: Instrument) -> None:
    for field in dataclasses.fields(Instrument):
        if field.name != "source_path":
            assert getattr(loaded, field.name) == getattr(original, field.name), field.name
    assert loaded == original


def test_every_instrument_exports_a_valid_r4_questionnaire(registry) -> None:
    for instrument in every_instrument(registry):
        resource = questionnaire_from_instrument(instrument)
        validate_resource(resource)
        assert resource["version"] == instrument.version
        assert [item["linkId"] for item in questions(resource)] == list(instrument.item_ids)


@pytest.mark.parametrize(
    ("instrument_id", "panel", "item_codes"),
    [("phq9", "44249-1", PHQ9_ITEMS), ("gad7", "69737-5", GAD7_ITEMS)],
)
def test_phq9_and_gad7_carry_verified_loinc_codes(registry, instrument_id, panel, item_codes):
    resource = questionnaire_from_instrument(registry[instrument_id])
    assert resource["code"] == [{"system": LOINC, "code": panel}]
    assert [item["code"] for item in questions(resource)] == [
        [{"system": LOINC, "code": code}] for code in item_codes
    ]
    for item in questions(resource):
        answer_list = LL359_1 if item["code"][0]["code"] == "69722-7" else LL358_3
        assert [
            (option["valueCoding"]["system"], option["valueCoding"]["code"], option["extension"])
            for option in item["answerOption"]
        ] == [
            (LOINC, code, [{"url": ORDINAL_VALUE, "valueDecimal": value}])
            for code, value in answer_list
        ]


def test_rapport_instruments_use_rapport_code_systems(registry) -> None:
    resource = questionnaire_from_instrument(registry["rapport_trust"])
    systems = RapportSystems()
    assert resource["code"][0]["system"] == systems.instruments
    assert resource["code"][0]["code"] == "rapport_trust"
    first = questions(resource)[0]
    assert first["required"] is False  # skippable
    assert "code" not in first
    assert first["answerOption"][0]["valueCoding"]["system"] == systems.answer_values
    assert first["answerOption"][0]["valueCoding"]["code"] == "1"


def test_texts_are_in_the_first_language_with_translations(registry) -> None:
    resource = questionnaire_from_instrument(registry["phq9"])
    assert resource["language"] == "en"
    first = questions(resource)[0]
    assert first["text"] == "Little interest or pleasure in doing things"
    assert first["_text"]["extension"] == [
        {
            "url": TRANSLATION,
            "extension": [
                {"url": "lang", "valueCode": "es"},
                {"url": "content", "valueString": "Poco interés o placer en hacer cosas"},
            ],
        }
    ]
    assert resource["copyright"].startswith("Developed by Drs. Robert L. Spitzer")
    assert resource["item"][0]["type"] == "display"  # the instructions
    assert first["required"] is True


def test_round_trip_is_identical_for_every_instrument(registry, tmp_path) -> None:
    for instrument in every_instrument(registry):
        resource = questionnaire_from_instrument(instrument)
        definition = instrument_definition_from_questionnaire(resource)
        assert_same_instrument(load_text(tmp_path, definition_yaml(definition)), instrument)


def test_definition_dict_round_trips_without_fhir(registry, tmp_path) -> None:
    for instrument in every_instrument(registry):
        text = definition_yaml(instrument_definition(instrument))
        assert_same_instrument(load_text(tmp_path, text), instrument)


def test_round_trip_with_a_clinic_base_url(registry, tmp_path) -> None:
    base = "https://clinic.example/fhir"
    resource = questionnaire_from_instrument(registry["rapport_alliance"], base_url=base)
    assert resource["url"] == f"{base}/Questionnaire/rapport_alliance"
    assert resource["extension"][0]["url"] == f"{base}/StructureDefinition/rapport-scoring"
    definition = instrument_definition_from_questionnaire(resource, base_url=base)
    assert load_text(tmp_path, definition_yaml(definition)) == registry["rapport_alliance"]
    with pytest.raises(FHIRImportError, match="rapport-scoring extension"):
        instrument_definition_from_questionnaire(resource)  # the default base


@pytest.mark.parametrize("base_url", ["rapport.example/fhir", "https://x.example/fhir/"])
def test_base_url_must_be_absolute_without_trailing_slash(registry, base_url) -> None:
    with pytest.raises(ValueError, match="base_url"):
        questionnaire_from_instrument(registry["phq9"], base_url=base_url)


def strip_scoring(resource: dict[str, Any]) -> dict[str, Any]:
    """A PHQ-9-like Questionnaire from elsewhere: no Rapport extension, no numeric values."""
    stripped = copy.deepcopy(resource)
    del stripped["extension"]
    for item in questions(stripped):
        for option in item["answerOption"]:
            del option["extension"]
    return stripped


def test_missing_scoring_information_is_reported_in_full(registry) -> None:
    resource = strip_scoring(questionnaire_from_instrument(registry["gad7"]))
    with pytest.raises(FHIRImportError) as caught:
        instrument_definition_from_questionnaire(resource)
    problems = caught.value.problems
    assert any(
        "no https://rapport.example/fhir/StructureDefinition/rapport-scoring" in p for p in problems
    )
    for field in ("construct", "higher_is_better", "audience", "validated", "scoring"):
        assert any(f"scoring metadata {field!r}" in problem for problem in problems), field
    no_value = [problem for problem in problems if "no numeric value (ordinalValue" in problem]
    assert len(no_value) == 8 * 4  # every option of every item
    assert len(problems) == 1 + 5 + 32
    assert str(caught.value).count("\n  - ") == len(problems)
    assert "cannot be imported as a Rapport instrument" in str(caught.value)


def test_scoring_metadata_completes_a_foreign_questionnaire(registry, tmp_path) -> None:
    original = registry["gad7"]
    resource = strip_scoring(questionnaire_from_instrument(original))
    for item in questions(resource):
        for option, (_, value) in zip(item["answerOption"], LL358_3, strict=True):
            option["valueCoding"]["extension"] = [{"url": ORDINAL_VALUE, "valueDecimal": value}]
    metadata = {
        "construct": "outcome",
        "higher_is_better": False,
        "audience": "therapist",
        "validated": True,
        "scoring": {"method": "sum"},
        "unscored_items": ["gad7_difficulty"],
    }
    definition = instrument_definition_from_questionnaire(resource, scoring_metadata=metadata)
    imported = load_text(tmp_path, definition_yaml(definition))
    assert imported.items == original.items
    answers = dict(zip(original.scored_item_ids, [0, 1, 2, 3, 3, 2, 1], strict=True))
    assert imported.score(answers).total == original.score(answers).total == 12


def test_unsupported_structure_is_reported_with_the_rest(registry) -> None:
    resource = questionnaire_from_instrument(registry["phq9"])
    del resource["language"], resource["title"], resource["_title"], resource["version"]
    del resource["copyright"], resource["_copyright"], resource["identifier"]
    resource["item"][1]["linkId"] = "/44250-9"
    del resource["item"][2]["text"], resource["item"][2]["_text"]
    resource["item"][3]["answerOption"][0] = {"valueString": "Not at all"}
    del resource["item"][4]["answerOption"][1]["valueCoding"]["display"]
    resource["item"][5]["answerValueSet"] = "http://loinc.org/vs/LL358-3"
    resource["item"].append({"linkId": "total", "type": "integer", "text": "Total"})
    resource["item"].append({"linkId": "section", "type": "group", "item": []})
    with pytest.raises(FHIRImportError) as caught:
        instrument_definition_from_questionnaire(resource)
    expected = [
        "instrument id: no identifier",
        "Questionnaire.version",
        "Questionnaire.language",
        "Questionnaire.title",
        "Questionnaire.copyright",
        "item '/44250-9': linkId must be a Rapport item id",
        "item 'phq9_2': text",
        "item 'phq9_3' answerOption[0]: only valueCoding answers are supported",
        "item 'phq9_4' answerOption[1] ('LA6569-3'): no display",
        "item 'phq9_5': answerValueSet is not supported",
        "item 'total': type 'integer' cannot be scored",
        "item 'section': type 'group' cannot be scored",
    ]
    for fragment in expected:
        assert any(fragment in problem for problem in caught.value.problems), fragment


def test_a_broken_scoring_block_is_reported(registry) -> None:
    resource = questionnaire_from_instrument(registry["rapport_trust"])
    broken = copy.deepcopy(resource)
    broken["extension"][0]["valueString"] = "{not json"
    with pytest.raises(FHIRImportError, match="valueString is not JSON"):
        instrument_definition_from_questionnaire(broken)
    broken["extension"][0]["valueString"] = "[1, 2]"
    with pytest.raises(FHIRImportError, match="must be a JSON object"):
        instrument_definition_from_questionnaire(broken)
    broken["extension"] = resource["extension"] * 2
    with pytest.raises(FHIRImportError, match="more than one"):
        instrument_definition_from_questionnaire(broken)
    metadata = {"colour": "blue", "schema": "rapport-instrument/9", "reverse_items": ["nope"]}
    metadata |= {"scoring": {"decimals": 2}}
    with pytest.raises(FHIRImportError) as caught:
        instrument_definition_from_questionnaire(resource, scoring_metadata=metadata)
    text = str(caught.value)
    for fragment in ("unknown field 'colour'", "rapport-instrument/9", "unknown item 'nope'"):
        assert fragment in text
    assert "'scoring.method'" in text


def test_only_choice_items_make_an_instrument(registry) -> None:
    resource = questionnaire_from_instrument(registry["rapport_openness"])
    resource["item"] = [resource["item"][0] | {"type": "display", "text": "Hello"}]
    with pytest.raises(FHIRImportError, match="no choice items"):
        instrument_definition_from_questionnaire(resource)


def test_import_refuses_other_resources_and_invalid_fhir(registry) -> None:
    with pytest.raises(FHIRImportError, match="expected a Questionnaire resource, got 'Patient'"):
        instrument_definition_from_questionnaire({"resourceType": "Patient"})
    with pytest.raises(FHIRImportError, match="got None"):
        instrument_definition_from_questionnaire(["not", "a", "resource"])  # type: ignore[arg-type]
    resource = questionnaire_from_instrument(registry["phq9"])
    resource["item"][1]["required"] = "yes please"
    with pytest.raises(FHIRValidationError, match=r"item\.1\.required"):
        instrument_definition_from_questionnaire(resource)
