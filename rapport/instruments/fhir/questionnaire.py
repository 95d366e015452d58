"""Instrument definitions to and from FHIR R4 ``Questionnaire`` resources.

Texts, options, LOINC codes and ``required`` use core FHIR elements; the rest
of the definition (scoring method, missing-data rule, reverse keying,
subscales, bands, cutoff, reliable change, critical items, construct,
direction, audience, references) travels as one extension whose
``valueString`` is the canonical JSON of that "scoring block". See
``docs/fhir.md`` for the element-by-element mapping.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from rapport.instruments.fhir.definition import NATIVE_FIELDS, instrument_definition
from rapport.instruments.fhir.elements import (
    code_in,
    fhir_id,
    localized,
    option_coding,
    ordinal_extension,
    read_localized,
    read_ordinal,
    translations_of,
)
from rapport.instruments.fhir.errors import FHIRImportError
from rapport.instruments.fhir.systems import DEFAULT_BASE_URL, LOINC, RapportSystems
from rapport.instruments.fhir.validation import validate_resource
from rapport.instruments.loader import SCHEMA_MARKER
from rapport.instruments.model import AUDIENCES, CONSTRUCTS, SCORING_METHODS, Instrument, Item

INSTRUCTIONS_LINK_ID = "rapport-instructions"  # a hyphen: never a Rapport item id

# What an imported Questionnaire must say about scoring, and how to say it.
REQUIRED_SCORING_FIELDS = {
    "construct": f"one of {', '.join(CONSTRUCTS)}",
    "higher_is_better": "true or false: the direction in which scores improve",
    "audience": f"one of {', '.join(AUDIENCES)}: who sees the scores",
    "validated": "true or false: whether the instrument is psychometrically validated",
    "scoring": f"the scoring method ({', '.join(SCORING_METHODS)}) and missing-data rule",
}
OPTIONAL_SCORING_FIELDS = (
    "schema", "id", "version", "reverse_items", "unscored_items", "total_loinc", "subscales",
    "bands", "clinical_cutoff", "reliable_change", "critical_items", "reference", "sources",
)  # fmt: skip
_ITEM_ID = re.compile(r"[a-z][a-z0-9_]*")


def questionnaire_from_instrument(
    instrument: Instrument, *, base_url: str = DEFAULT_BASE_URL
) -> dict[str, Any]:
    """Export an instrument as a validated FHIR R4 Questionnaire (a JSON dict).

    Parameters
    ----------
    instrument : Instrument
    base_url : str
        Base of the canonical URL (``{base_url}/Questionnaire/{id}``), of
        Rapport's code systems and of the scoring extension.

    Returns
    -------
    dict
        ``url`` + ``version`` identify the instrument version; ``code`` is the
        LOINC panel code where there is one, else the instrument id in the
        Rapport instruments code system; texts are in the first language with
        the others as ``translation`` extensions; each item is a ``choice``
        with ``answerOption.valueCoding`` (LOINC answer code where known, else
        the option value in Rapport's answer-value code system) and an
        ``ordinalValue`` extension holding the scored value.

    Examples
    --------
    >>> from rapport.instruments import load_registry
    >>> phq9 = questionnaire_from_instrument(load_registry()["phq9"])
    >>> phq9["url"], phq9["version"], phq9["code"]
    ('https://rapport.example/fhir/Questionnaire/phq9', '2', [{'system': 'http://loinc.org', 'code': '44249-1'}])
    >>> phq9["item"][1]["answerOption"][3]["valueCoding"]["code"]
    'LA6571-9'
    """  # noqa: E501
    systems = RapportSystems(base_url)
    languages = instrument.languages
    definition = instrument_definition(instrument)
    block = {name: value for name, value in definition.items() if name not in NATIVE_FIELDS}
    block["schema"] = SCHEMA_MARKER
    reverse_items = [item.id for item in instrument.items if item.reverse]
    if reverse_items:
        block["reverse_items"] = reverse_items
    # Asked and answered like any item, but counted in no score.
    unscored_items = [item.id for item in instrument.items if not item.scored]
    if unscored_items:
        block["unscored_items"] = unscored_items
    code = (
        {"system": LOINC, "code": instrument.loinc}
        if instrument.loinc
        else {
            "system": systems.instruments,
            "code": instrument.id,
            "display": instrument.title[languages[0]],
        }
    )
    instructions = (
        [
            {"linkId": INSTRUCTIONS_LINK_ID, "type": "display"}
            | localized("text", instrument.instructions, languages)
        ]
        if instrument.instructions
        else []
    )
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": fhir_id(f"{instrument.id}-{instrument.version}"),
        "language": languages[0],
        "extension": [{"url": systems.scoring_extension, "valueString": canonical_json(block)}],
        "url": systems.questionnaire_url(instrument.id),
        "identifier": [{"system": systems.instruments, "value": instrument.id}],
        "version": instrument.version,
        "name": "".join(part[:1].upper() + part[1:] for part in instrument.id.split("_")),
        **localized("title", instrument.title, languages),
        "status": "active",
        "subjectType": ["Patient"],
        "code": [code],
        **localized("copyright", instrument.notice, languages),
        "item": instructions + [_question(item, systems, languages) for item in instrument.items],
    }
    validate_resource(resource)
    return resource


def canonical_json(value: Any) -> str:
    """Compact JSON with sorted keys, so equal blocks give equal strings.

    Examples
    --------
    >>> canonical_json({"b": 1, "a": [1.5, "é"]})
    '{"a":[1.5,"é"],"b":1}'
    """
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _question(item: Item, systems: RapportSystems, languages: tuple[str, ...]) -> dict[str, Any]:
    question: dict[str, Any] = {"linkId": item.id}
    if item.loinc:
        question["code"] = [{"system": LOINC, "code": item.loinc}]
    question.update(localized("text", item.text, languages))
    question["type"] = "choice"
    question["required"] = not item.skippable
    question["answerOption"] = [
        {
            "extension": [ordinal_extension(option.value)],
            "valueCoding": option_coding(option, systems, languages),
        }
        for option in item.options
    ]
    return question


def instrument_definition_from_questionnaire(
    resource: Mapping[str, Any],
    *,
    base_url: str = DEFAULT_BASE_URL,
    scoring_metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Import a FHIR R4 Questionnaire as a Rapport instrument definition (a dict).

    Parameters
    ----------
    resource : Mapping
        A Questionnaire, typically one made by :func:`questionnaire_from_instrument`.
    base_url : str
        The base its Rapport URLs use (code systems, scoring extension).
    scoring_metadata : Mapping, optional
        Scoring-block fields to add or override, for Questionnaires made
        elsewhere: for example ``{"id": "phq9", "construct": "outcome",
        "higher_is_better": False, "audience": "therapist", "validated": True,
        "scoring": {"method": "sum"}}``.

    Returns
    -------
    dict
        A definition (schema ``rapport-instrument/1``): pass it to
        :func:`~rapport.instruments.fhir.definition_yaml` and load the text
        with :func:`rapport.instruments.load_definition`, which applies every
        schema rule.

    Raises
    ------
    FHIRValidationError
        ``resource`` is not valid FHIR R4.
    FHIRImportError
        Something needed to score is missing or unsupported; ``problems`` lists
        every such piece (no numeric value on an option, no scoring method,
        no construct, a free-text item, ...), not just the first.

    Notes
    -----
    Languages are the Questionnaire's ``language`` followed by the languages of
    the ``translation`` extensions on ``title``; translations into other
    languages are ignored. A leading ``display`` item becomes the instructions.
    Numeric values come from the R4 ``ordinalValue`` extension on the answer
    option or its Coding (the STU3 ``iso21090-CO-value`` is also read).
    """
    subject = "Questionnaire"
    if not isinstance(resource, Mapping) or resource.get("resourceType") != "Questionnaire":
        kind = resource.get("resourceType") if isinstance(resource, Mapping) else None
        raise FHIRImportError(subject, [f"expected a Questionnaire resource, got {kind!r}"])
    validate_resource(resource)
    subject = f"Questionnaire {resource.get('url') or resource.get('id') or '(no url or id)'}"
    systems = RapportSystems(base_url)
    problems: list[str] = []
    block = _scoring_block(resource, systems, scoring_metadata or {}, problems)

    instrument_id = (
        block.get("id")
        or next(
            (
                identifier.get("value")
                for identifier in resource.get("identifier", [])
                if identifier.get("system") == systems.instruments
            ),
            None,
        )
        or code_in(resource.get("code"), systems.instruments)
    )
    if not instrument_id:
        problems.append(
            f"instrument id: no identifier with system {systems.instruments} "
            "(or give 'id' in scoring_metadata)"
        )
    version = block.get("version") or resource.get("version")
    if not version:
        problems.append("Questionnaire.version (or give 'version' in scoring_metadata)")
    languages = _languages(resource, problems)
    title = read_localized(resource, "title", languages)
    if title is None:
        problems.append("Questionnaire.title")
    notice = read_localized(resource, "copyright", languages)
    if notice is None:
        problems.append("Questionnaire.copyright (the notice shown to respondents)")
    instructions, items = _items(resource.get("item", []), systems, languages, problems)
    for block_field, item_field, value in (
        ("reverse_items", "reverse", True),
        ("unscored_items", "scored", False),
    ):
        for item_id in block.get(block_field, []):
            matches = [item for item in items if item["id"] == item_id]
            if not matches:
                problems.append(f"{block_field}: unknown item {item_id!r}")
            for item in matches:
                item[item_field] = value
    if problems:
        raise FHIRImportError(f"{subject} cannot be imported as a Rapport instrument", problems)

    definition: dict[str, Any] = {
        "schema": SCHEMA_MARKER,
        "id": instrument_id,
        "version": str(version),
        "title": title,
        "languages": list(languages),
    }
    definition |= {name: block[name] for name in REQUIRED_SCORING_FIELDS if name != "scoring"}
    definition["notice"] = notice
    if instructions:
        definition["instructions"] = instructions
    loinc = code_in(resource.get("code"), LOINC)
    if loinc:
        definition["loinc"] = loinc
    definition["items"] = items
    definition["scoring"] = block["scoring"]
    skipped = {
        "schema", "id", "version", "reverse_items", "unscored_items", *REQUIRED_SCORING_FIELDS,
    }  # fmt: skip
    definition |= {name: value for name, value in block.items() if name not in skipped}
    return definition


def _scoring_block(
    resource: Mapping[str, Any],
    systems: RapportSystems,
    overrides: Mapping[str, Any],
    problems: list[str],
) -> dict[str, Any]:
    """The scoring extension's JSON merged with ``overrides``; records what is missing."""
    block: dict[str, Any] = {}
    texts = [
        extension.get("valueString")
        for extension in resource.get("extension", [])
        if extension.get("url") == systems.scoring_extension
    ]
    if len(texts) > 1:
        problems.append(f"more than one {systems.scoring_extension} extension")
    if texts:
        try:
            block = json.loads(texts[0] or "")
        except json.JSONDecodeError as exc:
            problems.append(f"{systems.scoring_extension}: valueString is not JSON ({exc})")
        if not isinstance(block, dict):
            problems.append(f"{systems.scoring_extension}: valueString must be a JSON object")
            block = {}
    block.update(overrides)
    if not texts and any(name not in block for name in REQUIRED_SCORING_FIELDS):
        problems.append(
            f"no {systems.scoring_extension} extension (the Rapport scoring block); "
            "the fields below may instead be given as scoring_metadata"
        )
    if block.get("schema", SCHEMA_MARKER) != SCHEMA_MARKER:
        problems.append(f"scoring block schema {block['schema']!r} is not {SCHEMA_MARKER!r}")
    known = (*REQUIRED_SCORING_FIELDS, *OPTIONAL_SCORING_FIELDS)
    for name in block:
        if name not in known:
            problems.append(f"scoring block: unknown field {name!r} (known: {', '.join(known)})")
    for name, meaning in REQUIRED_SCORING_FIELDS.items():
        if name not in block:
            problems.append(f"scoring metadata {name!r}: {meaning}")
    scoring = block.get("scoring")
    if isinstance(scoring, Mapping) and "method" not in scoring:
        problems.append(f"scoring metadata 'scoring.method': one of {', '.join(SCORING_METHODS)}")
    return block


def _languages(resource: Mapping[str, Any], problems: list[str]) -> tuple[str, ...]:
    default = resource.get("language")
    if not default:
        problems.append("Questionnaire.language (the language of the texts)")
        return ()
    others = [language for language in translations_of(resource, "title") if language != default]
    return (default, *others)


def _items(
    entries: list[Mapping[str, Any]],
    systems: RapportSystems,
    languages: tuple[str, ...],
    problems: list[str],
) -> tuple[dict[str, str] | None, list[dict[str, Any]]]:
    """Return (instructions, item definitions); record every unsupported or missing piece."""
    instructions = None
    items: list[dict[str, Any]] = []
    for position, entry in enumerate(entries):
        link_id = entry.get("linkId")
        where = f"item {link_id!r}"
        kind = entry.get("type")
        if kind == "display" and position == 0:
            instructions = read_localized(entry, "text", languages)
            continue
        if kind != "choice":
            problems.append(f"{where}: type {kind!r} cannot be scored (only choice items)")
            continue
        if not _ITEM_ID.fullmatch(link_id or ""):
            problems.append(
                f"{where}: linkId must be a Rapport item id (lower-case letters, digits, _)"
            )
        text = read_localized(entry, "text", languages)
        if text is None:
            problems.append(f"{where}: text")
        item: dict[str, Any] = {"id": link_id, "text": text}
        loinc = code_in(entry.get("code"), LOINC)
        if loinc:
            item["loinc"] = loinc
        if not entry.get("required", False):
            item["skippable"] = True
        item["options"] = _options(entry, where, languages, problems)
        items.append(item)
    if not items:
        problems.append("no choice items")
    return instructions, items


def _options(
    entry: Mapping[str, Any], where: str, languages: tuple[str, ...], problems: list[str]
) -> list[dict[str, Any]]:
    if entry.get("answerValueSet"):
        problems.append(f"{where}: answerValueSet is not supported; list the answerOption")
    if not entry.get("answerOption"):
        problems.append(f"{where}: no answerOption (nothing to score)")
    options = []
    for index, answer in enumerate(entry.get("answerOption", [])):
        coding = answer.get("valueCoding")
        place = f"{where} answerOption[{index}]"
        if coding is None:
            problems.append(f"{place}: only valueCoding answers are supported")
            continue
        place = f"{place} ({coding.get('code')!r})"
        value = read_ordinal(answer, coding)
        if value is None:
            problems.append(f"{place}: no numeric value (ordinalValue extension)")
        label = read_localized(coding, "display", languages)
        if label is None:
            problems.append(f"{place}: no display (the label)")
        option: dict[str, Any] = {"value": value, "label": label}
        if coding.get("system") == LOINC:
            option["loinc"] = coding.get("code")
        options.append(option)
    return options
