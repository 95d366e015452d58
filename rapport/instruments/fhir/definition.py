"""An :class:`~rapport.instruments.Instrument` back as a loadable definition (dict or YAML)."""

from __future__ import annotations

from typing import Any

import yaml

from rapport.instruments.loader import SCHEMA_MARKER
from rapport.instruments.model import Instrument, Item

# Top-level fields that FHIR carries natively; every other field travels in the
# Rapport scoring extension (see rapport.instruments.fhir.questionnaire).
NATIVE_FIELDS = (
    "schema", "id", "version", "title", "languages", "instructions", "notice", "items", "loinc",
)  # fmt: skip


def instrument_definition(instrument: Instrument) -> dict[str, Any]:
    """Return the definition dict (schema ``rapport-instrument/1``) that loads as ``instrument``.

    Option sets and ``scale`` shorthands are written out as explicit option
    lists, and a computed reliable-change threshold as its ``value``; loading
    the result gives an instrument equal to ``instrument`` (source path aside).

    Examples
    --------
    >>> from rapport.instruments import load_registry
    >>> definition = instrument_definition(load_registry()["phq9"])
    >>> definition["scoring"], definition["items"][0]["options"][0]["loinc"]
    ({'method': 'sum', 'decimals': 0, 'missing': {'max_missing': 1, 'prorate': True}}, 'LA6568-5')
    """
    definition: dict[str, Any] = {
        "schema": SCHEMA_MARKER,
        "id": instrument.id,
        "version": instrument.version,
        "title": dict(instrument.title),
        "languages": list(instrument.languages),
        "construct": instrument.construct,
        "higher_is_better": instrument.higher_is_better,
        "audience": instrument.audience,
        "validated": instrument.validated,
        "notice": dict(instrument.notice),
        "items": [_item(item) for item in instrument.items],
        "scoring": _scoring(instrument),
    }
    optional: dict[str, Any] = {
        "instructions": dict(instrument.instructions) or None,
        "loinc": instrument.loinc,
        "total_loinc": instrument.total_loinc,
        "subscales": [
            {
                "id": subscale.id,
                "title": dict(subscale.title),
                "items": list(subscale.item_ids),
                "max_missing": subscale.max_missing,
            }
            for subscale in instrument.subscales
        ],
        "bands": [
            {"label": band.label, "lower": band.lower, "upper": band.upper}
            | ({"text": dict(band.text)} if band.text else {})
            for band in instrument.bands
        ],
        "clinical_cutoff": instrument.clinical_cutoff,
        "reliable_change": _without_none(
            {"value": instrument.reliable_change, "source": instrument.reliable_change_source}
        )
        if instrument.reliable_change is not None
        else None,
        "critical_items": [
            {"item": rule.item_id, "operator": rule.operator, "value": rule.value}
            | ({"flag_if_missing": True} if rule.flag_if_missing else {})
            for rule in instrument.critical_items
        ],
        "reference": _without_none(vars(instrument.reference))
        if instrument.reference is not None
        else None,
        "sources": list(instrument.sources),
    }
    definition.update(
        (name, value) for name, value in optional.items() if value is not None and value != []
    )
    return definition


def definition_yaml(definition: dict[str, Any]) -> str:
    """Return a definition dict as YAML text that :func:`rapport.instruments.load_definition` reads.

    Examples
    --------
    >>> print(definition_yaml({"schema": "rapport-instrument/1", "id": "x", "version": "1"}))
    schema: rapport-instrument/1
    id: x
    version: '1'
    <BLANKLINE>
    """
    return yaml.safe_dump(definition, allow_unicode=True, sort_keys=False, width=100)


def _item(item: Item) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": item.id, "text": dict(item.text)}
    if item.loinc:
        entry["loinc"] = item.loinc
    if item.reverse:
        entry["reverse"] = True
    if item.skippable:
        entry["skippable"] = True
    if not item.scored:
        entry["scored"] = False
    entry["options"] = [
        {"value": option.value, "label": dict(option.label)}
        | ({"loinc": option.loinc} if option.loinc else {})
        for option in item.options
    ]
    return entry


def _scoring(instrument: Instrument) -> dict[str, Any]:
    scoring: dict[str, Any] = {"method": instrument.scoring, "decimals": instrument.decimals}
    if instrument.scale_factor is not None:
        scoring["scale_factor"] = instrument.scale_factor
    scoring["missing"] = {
        "max_missing": instrument.missing_rule.max_missing,
        "prorate": instrument.missing_rule.prorate,
    }
    return scoring


def _without_none(fields: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}
