"""Administrations and scores as FHIR R4 QuestionnaireResponse / Observation / Bundle."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from rapport.instruments import AnswerError, Instrument
from rapport.instruments.fhir import (
    FHIRImportError,
    FHIRValidationError,
    RapportSystems,
    answers_from_questionnaire_response,
    bundle,
    questionnaire_from_instrument,
    questionnaire_response,
    score_observations,
    validate_resource,
)
from rapport.instruments.fhir.systems import ORDINAL_VALUE

WHEN = datetime(2025, 3, 1, 9, 30, tzinfo=timezone(timedelta(hours=-5)))
LOINC = "http://loinc.org"


def sample_answers(instrument: Instrument, skip: int | None = 1) -> dict[str, Any]:
    """Cycle through each item's options; item ``skip`` (if any) is missing."""
    answers: dict[str, Any] = {}
    for position, item in enumerate(instrument.items):
        options = item.option_values
        answers[item.id] = None if position == skip else options[(position * 2) % len(options)]
    return answers


def make_response(instrument: Instrument, answers: dict[str, Any], **changes: Any) -> dict:
    arguments = {"response_id": "qr-1", "subject_reference": "Patient/p1", "authored": WHEN}
    return questionnaire_response(instrument, answers, **(arguments | changes))


def make_observations(instrument: Instrument, answers: dict[str, Any], **changes: Any) -> list:
    arguments = {
        "subject_reference": "Patient/p1",
        "effective": WHEN,
        "derived_from": "QuestionnaireResponse/qr-1",
        "id_prefix": "qr-1",
    }
    return score_observations(instrument, instrument.score(answers), **(arguments | changes))


def test_responses_validate_and_read_back_for_every_instrument(registry) -> None:
    for instrument in registry.all_versions():
        skip = 1 if len(instrument.items) > 1 else None
        answers = sample_answers(instrument, skip)
        resource = make_response(instrument, answers)
        validate_resource(resource)
        assert resource["status"] == "completed"
        assert resource["authored"] == "2025-03-01T09:30:00-05:00"
        linked = [item["linkId"] for item in resource.get("item", [])]
        assert linked == [item_id for item_id, value in answers.items() if value is not None]
        assert answers_from_questionnaire_response(instrument, resource) == answers


def test_phq9_response_uses_loinc_answer_codes_with_ordinal_values(registry) -> None:
    phq9 = registry["phq9"]
    resource = make_response(phq9, {"phq9_1": 3, "phq9_9": 0})
    assert resource["questionnaire"] == "https://rapport.example/fhir/Questionnaire/phq9|2"
    first = resource["item"][0]
    assert first["text"] == "Little interest or pleasure in doing things"
    assert first["answer"] == [
        {
            "valueCoding": {
                "extension": [{"url": ORDINAL_VALUE, "valueDecimal": 3}],
                "system": LOINC,
                "code": "LA6571-9",
                "display": "Nearly every day",
            }
        }
    ]
    read = answers_from_questionnaire_response(phq9, resource)
    assert read == {"phq9_1": 3, "phq9_9": 0} | dict.fromkeys(
        [*phq9.item_ids[1:8], "phq9_difficulty"]
    )


def test_an_empty_administration_is_still_a_valid_response(registry) -> None:
    alliance = registry["rapport_alliance"]
    resource = make_response(alliance, {})
    assert "item" not in resource
    assert answers_from_questionnaire_response(alliance, resource) == dict.fromkeys(
        alliance.item_ids
    )


def test_response_inputs_are_checked(registry) -> None:
    gad7 = registry["gad7"]
    with pytest.raises(AnswerError, match="unknown item"):
        make_response(gad7, {"gad7_9": 1})
    with pytest.raises(AnswerError):
        make_response(gad7, {"gad7_1": 7})
    with pytest.raises(ValueError, match="timezone-aware"):
        make_response(gad7, {}, authored=datetime(2025, 3, 1, 9, 30))
    with pytest.raises(ValueError, match="must be a datetime"):
        make_response(gad7, {}, authored="2025-03-01")
    with pytest.raises(ValueError, match="response_id"):
        make_response(gad7, {}, response_id="qr_1")


def test_a_clinic_questionnaire_url_is_written_and_required(registry) -> None:
    gad7 = registry["gad7"]
    url = "https://clinic.example/fhir/Questionnaire/anxiety|2024"
    resource = make_response(gad7, {"gad7_1": 1}, questionnaire_url=url)
    assert resource["questionnaire"] == url
    read = answers_from_questionnaire_response(gad7, resource, questionnaire_url=url)
    assert read["gad7_1"] == 1
    with pytest.raises(FHIRImportError, match="not gad7 version 2"):
        answers_from_questionnaire_response(gad7, resource)


def test_response_for_another_questionnaire_is_refused(registry) -> None:
    resource = make_response(registry["gad7"], {"gad7_1": 1})
    with pytest.raises(FHIRImportError, match=r"answers questionnaire '.*/gad7\|2', not phq9"):
        answers_from_questionnaire_response(registry["phq9"], resource)
    resource["questionnaire"] = "https://rapport.example/fhir/Questionnaire/gad7|1"
    with pytest.raises(FHIRImportError, match="not gad7 version 2"):
        answers_from_questionnaire_response(registry["gad7"], resource)
    resource["questionnaire"] = "https://rapport.example/fhir/Questionnaire/gad7"  # unversioned
    assert answers_from_questionnaire_response(registry["gad7"], resource)["gad7_1"] == 1


def test_bad_responses_list_every_problem(registry) -> None:
    trust = registry["rapport_trust"]
    resource = make_response(trust, {"trust_safe": 6, "trust_judged": 2, "trust_open": 4})
    broken = copy.deepcopy(resource)
    broken["status"] = "in-progress"
    broken["item"][0]["answer"][0]["valueCoding"]["code"] = "9"  # not an option
    broken["item"][1]["answer"][0]["valueCoding"]["extension"][0]["valueDecimal"] = 5
    broken["item"][2]["answer"].append({"valueString": "and more"})
    broken["item"].append({"linkId": "trust_extra", "answer": [{"valueInteger": 1}]})
    broken["item"].append(copy.deepcopy(resource["item"][0]))
    broken["item"].append({"linkId": "trust_background", "item": [{"linkId": "inner"}]})
    broken["item"].append({"linkId": "trust_honest", "answer": [{"valueInteger": 6}]})
    with pytest.raises(FHIRImportError) as caught:
        answers_from_questionnaire_response(trust, broken)
    expected = [
        "status 'in-progress'",
        "item 'trust_safe': https://rapport.example/fhir/CodeSystem/rapport-answer-values|9 "
        "is not one of its options",
        "item 'trust_judged': ordinal value 5 contradicts option 2",
        "item 'trust_open': expected exactly one answer",
        "item 'trust_extra': not an item of rapport_trust",
        "item 'trust_safe': answered more than once",
        "item 'trust_background': nested items are not part of rapport_trust",
        "item 'trust_honest': the answer must be a valueCoding",
    ]
    assert len(caught.value.problems) == len(expected)
    for fragment, problem in zip(expected, caught.value.problems, strict=True):
        assert fragment in problem


def test_import_refuses_other_resources_and_invalid_fhir(registry) -> None:
    gad7 = registry["gad7"]
    with pytest.raises(
        FHIRImportError, match="expected a QuestionnaireResponse, got 'Observation'"
    ):
        answers_from_questionnaire_response(gad7, {"resourceType": "Observation"})
    with pytest.raises(FHIRImportError, match="got None"):
        answers_from_questionnaire_response(gad7, "QuestionnaireResponse")  # type: ignore[arg-type]
    resource = make_response(gad7, {"gad7_1": 1})
    resource["authored"] = "yesterday"
    with pytest.raises(FHIRValidationError, match="authored"):
        answers_from_questionnaire_response(gad7, resource)


# Total-score LOINC codes: 44261-6 (PHQ-9) and 70274-6 (GAD-7), as used by
# HL7/personal-health-record-format-ig, input/fsh/pghd/examples/Mind/
# Observation-PHR-ScoredAssessment-PHQ9.fsh and Observation-PHR-ScoredAssessment-GAD7.fsh.
@pytest.mark.parametrize(
    ("instrument_id", "total_code"), [("phq9", "44261-6"), ("gad7", "70274-6")]
)
def test_total_observation_uses_the_loinc_total_code(registry, instrument_id, total_code):
    instrument = registry[instrument_id]
    answers = dict.fromkeys(instrument.item_ids, 1)
    (total,) = make_observations(instrument, answers)
    assert total["id"] == "qr-1-total"
    assert total["code"]["coding"] == [{"system": LOINC, "code": total_code}]
    assert total["category"][0]["coding"][0]["code"] == "survey"
    assert total["valueQuantity"] == {
        "value": len(instrument.scored_item_ids),  # the functioning answer counts for nothing
        "unit": "{score}",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    assert total["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-1"}]
    assert total["interpretation"][0]["coding"][0]["code"] == f"{instrument_id}.mild"


def test_subscales_and_flags_become_observations_and_interpretations(registry) -> None:
    trust = registry["rapport_trust"]
    systems = RapportSystems()
    answers = {"trust_safe": 1, "trust_judged": 7} | dict.fromkeys(trust.item_ids[2:], 2)
    observations = make_observations(trust, answers, id_prefix="adm.7")
    assert [observation["id"] for observation in observations] == [
        "adm.7-total",
        "adm.7-safety",
        "adm.7-respect",
    ]
    total, safety, respect = observations
    assert total["code"]["coding"] == [{"system": systems.scores, "code": "rapport_trust.total"}]
    assert total["valueQuantity"]["value"] == 1.75  # (1 + 1 (7 reversed) + 6 * 2) / 8
    codes = [concept["coding"][0]["code"] for concept in total["interpretation"]]
    assert codes == ["rapport_trust.low", "clinical-range", "critical:trust_safe"]
    assert safety["code"]["coding"][0]["code"] == "rapport_trust.safety"
    assert safety["code"]["text"] == "Trust & Respect check-in: Safety subscale score"
    assert respect["valueQuantity"]["value"] == 2
    assert "interpretation" not in safety


def test_withheld_scores_have_a_data_absent_reason(registry) -> None:
    alliance = registry["rapport_alliance"]
    total, bond, agreement = make_observations(alliance, {"alliance_overall": 9})
    for observation in (total, bond, agreement):
        assert "valueQuantity" not in observation
        assert observation["dataAbsentReason"]["coding"][0]["code"] == "error"
    assert "interpretation" not in total


def test_observation_inputs_are_checked(registry) -> None:
    phq9, gad7 = registry["phq9"], registry["gad7"]
    score = gad7.score(dict.fromkeys(gad7.item_ids, 0))
    with pytest.raises(ValueError, match="the score is for gad7 version 2, not phq9"):
        score_observations(
            phq9, score, subject_reference="Patient/p1", effective=WHEN,
            derived_from="QuestionnaireResponse/qr-1", id_prefix="x",
        )  # fmt: skip
    with pytest.raises(ValueError, match="id_prefix"):
        make_observations(gad7, {}, id_prefix="bad prefix")
    with pytest.raises(ValueError, match="effective must be timezone-aware"):
        make_observations(gad7, {}, effective=datetime(2025, 1, 1))


def test_a_whole_administration_bundles_and_validates(registry) -> None:
    phq9 = registry["phq9"]
    answers = sample_answers(phq9)
    resources = [
        questionnaire_from_instrument(phq9),
        make_response(phq9, answers),
        *make_observations(phq9, answers),
    ]
    collection = bundle(resources)
    validate_resource(collection)
    assert [entry["fullUrl"] for entry in collection["entry"]] == [
        "https://rapport.example/fhir/Questionnaire/phq9-2",
        "https://rapport.example/fhir/QuestionnaireResponse/qr-1",
        "https://rapport.example/fhir/Observation/qr-1-total",
    ]
    transaction = bundle([*resources, {"resourceType": "Patient"}], bundle_type="transaction")
    requests = [entry["request"] for entry in transaction["entry"]]
    assert requests[1] == {"method": "PUT", "url": "QuestionnaireResponse/qr-1"}
    assert requests[-1] == {"method": "POST", "url": "Patient"}
    assert "fullUrl" not in transaction["entry"][-1]


def test_an_estimated_total_is_marked_for_machines_and_readers(registry) -> None:
    phq9 = registry["phq9"]
    systems = RapportSystems()
    complete = dict.fromkeys(phq9.scored_item_ids, 1)
    prorated = complete | {"phq9_4": None}

    (exact,) = make_observations(phq9, complete)
    (estimated,) = make_observations(phq9, prorated)

    assert "extension" not in exact and "note" not in exact
    assert estimated["valueQuantity"]["value"] == 9  # 8 answered x 9 / 8
    assert estimated["extension"] == [{"url": systems.estimated_extension, "valueBoolean": True}]
    assert estimated["note"] == [
        {"text": "Estimated total (prorated): 8 of 9 scored items answered; not answered: phq9_4."}
    ]


def test_an_unanswered_risk_item_is_an_interpretation_of_the_total(registry) -> None:
    phq9 = registry["phq9"]
    (total,) = make_observations(phq9, dict.fromkeys(phq9.scored_item_ids[:8], 0))

    codes = [coding["code"] for concept in total["interpretation"] for coding in concept["coding"]]
    assert "unanswered:phq9_9" in codes
