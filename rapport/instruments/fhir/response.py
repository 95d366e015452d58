"""Administrations as FHIR R4 ``QuestionnaireResponse`` resources, and back to answers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rapport.instruments import answers as answer_rules
from rapport.instruments.fhir.elements import (
    check_fhir_id,
    coding_key,
    fhir_datetime,
    option_coding,
    ordinal_extension,
    read_ordinal,
)
from rapport.instruments.fhir.errors import FHIRImportError
from rapport.instruments.fhir.systems import DEFAULT_BASE_URL, RapportSystems
from rapport.instruments.fhir.validation import validate_resource
from rapport.instruments.model import Instrument, Number

ACCEPTED_RESPONSE_STATUS = ("completed", "amended")


def questionnaire_canonical(instrument: Instrument, base_url: str = DEFAULT_BASE_URL) -> str:
    """The versioned canonical of an instrument's Questionnaire: ``url|version``.

    Examples
    --------
    >>> from rapport.instruments import load_registry
    >>> questionnaire_canonical(load_registry()["gad7"])
    'https://rapport.example/fhir/Questionnaire/gad7|2'
    """
    return f"{RapportSystems(base_url).questionnaire_url(instrument.id)}|{instrument.version}"


def questionnaire_response(
    instrument: Instrument,
    answers: Mapping[str, Number | None],
    *,
    response_id: str,
    subject_reference: str,
    authored: datetime,
    questionnaire_url: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
) -> dict[str, Any]:
    """Return one administration as a validated, completed FHIR R4 QuestionnaireResponse.

    Parameters
    ----------
    instrument : Instrument
    answers : Mapping[str, int | float | None]
        Item id to the chosen option value; absent or ``None`` is a missing
        item, which is left out of the response.
    response_id : str
        The resource id (a FHIR id: letters, digits, ``-``, ``.``).
    subject_reference : str
        For example ``"Patient/123"``.
    authored : datetime
        When the answers were given; must be timezone-aware.
    questionnaire_url : str, optional
        Canonical of the Questionnaire; default ``{base_url}/Questionnaire/{id}|{version}``.
    base_url : str
        Base of Rapport's code systems.

    Returns
    -------
    dict
        Items in instrument order with ``linkId`` = item id, the item text in
        the first language, and one ``valueCoding`` answer carrying the
        ``ordinalValue`` extension.

    Raises
    ------
    AnswerError
        An unknown item id or a value that is not one of the item's options.
    ValueError
        A bad ``response_id`` or a naive ``authored``.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> from rapport.instruments import load_registry
    >>> response = questionnaire_response(
    ...     load_registry()["gad7"], {"gad7_1": 2, "gad7_2": None},
    ...     response_id="qr-1", subject_reference="Patient/p1",
    ...     authored=datetime(2025, 3, 1, 9, 30, tzinfo=timezone.utc))
    >>> [item["linkId"] for item in response["item"]], response["item"][0]["answer"][0]["valueCoding"]["code"]
    (['gad7_1'], 'LA6570-1')
    """  # noqa: E501
    answer_rules.answer_values(instrument, answers)  # validates them
    check_fhir_id(response_id, "response_id")
    systems = RapportSystems(base_url)
    language = instrument.languages[0]
    items = []
    for item in instrument.items:
        value = answers.get(item.id)
        if value is None or value != value:  # missing, or NaN from a DataFrame
            continue
        option = next(option for option in item.options if option.value == value)
        coding = {"extension": [ordinal_extension(option.value)]} | option_coding(option, systems)
        coding["display"] = option.label[language]
        items.append(
            {"linkId": item.id, "text": item.text[language], "answer": [{"valueCoding": coding}]}
        )
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": response_id,
        "questionnaire": questionnaire_url or questionnaire_canonical(instrument, base_url),
        "status": "completed",
        "subject": {"reference": subject_reference},
        "authored": fhir_datetime(authored, "authored"),
    }
    if items:
        resource["item"] = items
    validate_resource(resource)
    return resource


def answers_from_questionnaire_response(
    instrument: Instrument,
    resource: Mapping[str, Any],
    *,
    questionnaire_url: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
) -> dict[str, Number | None]:
    """Read the answers of a QuestionnaireResponse for ``instrument``.

    Parameters
    ----------
    instrument : Instrument
    resource : Mapping
        A QuestionnaireResponse whose ``questionnaire`` is the instrument's
        canonical (with or without ``|version``; a version must match).
    questionnaire_url : str, optional
        Accept this canonical instead (a clinic's own URL for the form).
    base_url : str
        Base of Rapport's code systems and canonical.

    Returns
    -------
    dict
        Every item id, in item order, to its value; ``None`` for an item not answered.

    Raises
    ------
    FHIRValidationError
        ``resource`` is not valid FHIR R4.
    FHIRImportError
        Not a QuestionnaireResponse, another questionnaire, or (all listed at
        once) a status other than completed/amended, unknown or repeated
        linkIds, nested items, not exactly one answer, a Coding that is not one
        of the item's options, or an ordinal value contradicting the option.
    """
    subject = "QuestionnaireResponse"
    if not isinstance(resource, Mapping) or resource.get("resourceType") != subject:
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        raise FHIRImportError(subject, [f"expected a QuestionnaireResponse, got {kind!r}"])
    validate_resource(resource)
    subject = f"QuestionnaireResponse {resource.get('id') or '(no id)'}"
    _check_questionnaire(instrument, resource, questionnaire_url, base_url, subject)
    systems = RapportSystems(base_url)
    problems: list[str] = []
    if resource.get("status") not in ACCEPTED_RESPONSE_STATUS:
        problems.append(
            f"status {resource.get('status')!r}: only {' or '.join(ACCEPTED_RESPONSE_STATUS)} "
            "responses can be scored"
        )
    found: dict[str, Number | None] = dict.fromkeys(instrument.item_ids)
    seen: set[str] = set()
    for entry in resource.get("item", []):
        link_id = entry.get("linkId")
        where = f"item {link_id!r}"
        if link_id not in found:
            problems.append(f"{where}: not an item of {instrument.id} (items: {', '.join(found)})")
            continue
        if link_id in seen:
            problems.append(f"{where}: answered more than once")
            continue
        seen.add(link_id)
        found[link_id] = _answer_value(instrument, entry, where, systems, problems)
    if problems:
        raise FHIRImportError(f"{subject} cannot be read as {instrument.id}", problems)
    return found


def _check_questionnaire(
    instrument: Instrument,
    resource: Mapping[str, Any],
    questionnaire_url: str | None,
    base_url: str,
    subject: str,
) -> None:
    expected = questionnaire_url or RapportSystems(base_url).questionnaire_url(instrument.id)
    given = resource.get("questionnaire") or ""
    url, _, version = given.partition("|")
    expected_url, _, expected_version = expected.partition("|")
    expected_version = expected_version or instrument.version
    if url != expected_url or (version and version != expected_version):
        raise FHIRImportError(
            subject,
            [
                f"answers questionnaire {given!r}, not {instrument.id} version "
                f"{instrument.version} ({expected_url}|{expected_version})"
            ],
        )


def _answer_value(
    instrument: Instrument,
    entry: Mapping[str, Any],
    where: str,
    systems: RapportSystems,
    problems: list[str],
) -> Number | None:
    item = instrument.item(entry["linkId"])
    if entry.get("item"):
        problems.append(f"{where}: nested items are not part of {instrument.id}")
    answers = entry.get("answer", [])
    if not answers:
        return None
    if len(answers) > 1 or any(answer.get("item") for answer in answers):
        problems.append(f"{where}: expected exactly one answer without nested items")
        return None
    coding = answers[0].get("valueCoding")
    if coding is None:
        problems.append(f"{where}: the answer must be a valueCoding")
        return None
    by_coding = {coding_key(option_coding(option, systems)): option for option in item.options}
    option = by_coding.get(coding_key(coding))
    if option is None:
        allowed = ", ".join(f"{system}|{code}" for system, code in by_coding)
        problems.append(
            f"{where}: {coding.get('system')}|{coding.get('code')} is not one of its options "
            f"({allowed})"
        )
        return None
    ordinal = read_ordinal(coding, answers[0])
    if ordinal is not None and ordinal != option.value:
        problems.append(
            f"{where}: ordinal value {ordinal} contradicts option "
            f"{coding.get('code')} (scored {option.value})"
        )
    return option.value
