"""Reading and validating instrument definition files (schema ``rapport-instrument/1``).

Every problem raises :class:`DefinitionError` naming the file, the field path
(``items[3].options[1].value``; indices start at 0) and what is wrong. The
format is documented in ``docs/instruments.md``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import yaml

from rapport.instruments.errors import DefinitionError
from rapport.instruments.model import (
    AUDIENCES,
    CONSTRUCTS,
    OPERATORS,
    SCORING_METHODS,
    Band,
    CriticalItem,
    Instrument,
    Item,
    MissingRule,
    Number,
    Reference,
    ResponseOption,
    Subscale,
    Text,
    reliable_change_from,
)
from rapport.instruments.scoring import round_half_up

SCHEMA_MARKER = "rapport-instrument/1"
DEFINITION_SUFFIXES = (".yaml", ".yml")

_IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")
_FILE_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_LANGUAGE_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_TOLERANCE = 1e-9

_TOP_LEVEL_FIELDS = {
    "schema": True,
    "id": True,
    "version": True,
    "title": True,
    "languages": True,
    "construct": True,
    "higher_is_better": True,
    "audience": True,
    "validated": True,
    "notice": True,
    "items": True,
    "scoring": True,
    "instructions": False,
    "sources": False,
    "loinc": False,
    "total_loinc": False,
    "option_sets": False,
    "subscales": False,
    "bands": False,
    "clinical_cutoff": False,
    "reliable_change": False,
    "critical_items": False,
    "reference": False,
}


@dataclass(frozen=True)
class _Context:
    """The file being read and the language set every text must cover."""

    file: Path
    languages: tuple[str, ...] = ()

    def fail(self, field: str, problem: str) -> NoReturn:
        raise DefinitionError(self.file, field, problem)


def load_definition(path: str | os.PathLike[str]) -> Instrument:
    """Load and validate one definition file.

    Parameters
    ----------
    path : str or os.PathLike
        A YAML file starting with ``schema: rapport-instrument/1``.

    Returns
    -------
    Instrument

    Raises
    ------
    DefinitionError
        The file cannot be read, is not valid YAML, or breaks the schema.
    """
    file = Path(path)
    context = _Context(file)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        context.fail("<file>", f"cannot be read as UTF-8 text ({exc})")
    return _build_instrument(_parse_yaml(text, context), context)


def load_directory(path: str | os.PathLike[str]) -> list[Instrument]:
    """Load every ``*.yaml``/``*.yml`` file in a directory (not recursive), sorted by name.

    Raises
    ------
    DefinitionError
        The directory does not exist, a file is broken, or two files define the
        same ``(id, version)`` (the message names both files).
    """
    directory = Path(path)
    if not directory.is_dir():
        raise DefinitionError(directory, "<directory>", "is not a readable directory")
    files = sorted(
        entry
        for entry in directory.iterdir()
        if entry.is_file() and entry.suffix in DEFINITION_SUFFIXES
    )
    instruments = [load_definition(file) for file in files]
    reject_duplicate_versions(instruments)
    return instruments


def reject_duplicate_versions(instruments: Iterable[Instrument]) -> None:
    """Raise :class:`DefinitionError` if two instruments share an ``(id, version)``."""
    seen: dict[tuple[str, str], Instrument] = {}
    for instrument in instruments:
        key = (instrument.id, instrument.version)
        if key in seen:
            raise DefinitionError(
                instrument.source_path or "<unknown>",
                "id",
                f"instrument {instrument.id!r} version {instrument.version!r} is also defined "
                f"in {seen[key].source_path}",
            )
        seen[key] = instrument


def reject_shared_critical_items(instruments: Iterable[Instrument]) -> None:
    """Raise :class:`DefinitionError` if two different instruments name the same item id
    as a critical item.

    A critical answer's flag and alert name the item only (``critical:phq9_9``), and who
    is told of it follows the instrument it belongs to (a symptom answer goes to the
    therapist, an answer about the relationship to their supervisor), so one item id may
    belong to one instrument's critical items (its versions share them).
    """
    owner: dict[str, Instrument] = {}
    for instrument in instruments:
        for critical in instrument.critical_items:
            first = owner.setdefault(critical.item_id, instrument)
            if first.id != instrument.id:
                raise DefinitionError(
                    instrument.source_path or "<unknown>",
                    "critical_items",
                    f"item {critical.item_id!r} is also a critical item of instrument "
                    f"{first.id!r} ({first.source_path}); alerts name critical items by item "
                    "id, so give this item an id of its own",
                )


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys instead of keeping the last one."""


def _construct_unique_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _value_node in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, Mapping | list):
            continue  # SafeLoader itself reports unhashable keys
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_unique_mapping
)


def _parse_yaml(text: str, context: _Context) -> Any:
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context.fail("<yaml>", f"invalid YAML at {where}{problem}")


def _build_instrument(document: Any, context: _Context) -> Instrument:
    fields = _mapping(context, document, "<document>")
    schema = fields.get("schema")
    if schema != SCHEMA_MARKER:
        context.fail("schema", f"must be {SCHEMA_MARKER!r} (got {schema!r})")
    _check_fields(context, fields, "", _TOP_LEVEL_FIELDS)
    instrument_id = _identifier(context, fields["id"], "id")
    version = _version(context, fields["version"])
    languages = _languages(context, fields["languages"])
    context = _Context(context.file, languages)

    option_sets = _option_sets(context, fields.get("option_sets", {}))
    items = _items(context, fields["items"], option_sets)
    item_ids = tuple(item.id for item in items)
    scored_ids = tuple(item.id for item in items if item.scored)
    method, decimals, scale_factor, missing_rule = _scoring(
        context, fields["scoring"], len(scored_ids)
    )
    higher_is_better = _boolean(context, fields["higher_is_better"], "higher_is_better")
    reliable_change, reliable_change_source = _reliable_change(
        context, fields.get("reliable_change")
    )
    instrument = Instrument(
        id=instrument_id,
        version=version,
        title=_text(context, fields["title"], "title"),
        languages=languages,
        construct=_choice(context, fields["construct"], "construct", CONSTRUCTS),
        higher_is_better=higher_is_better,
        items=items,
        scoring=method,
        missing_rule=missing_rule,
        decimals=decimals,
        scale_factor=scale_factor,
        notice=_text(context, fields["notice"], "notice"),
        audience=_choice(context, fields["audience"], "audience", AUDIENCES),
        validated=_boolean(context, fields["validated"], "validated"),
        instructions=_optional_text(context, fields.get("instructions"), "instructions"),
        subscales=_subscales(context, fields.get("subscales", []), item_ids, scored_ids),
        reliable_change=reliable_change,
        reliable_change_source=reliable_change_source,
        critical_items=_critical_items(context, fields.get("critical_items", []), items),
        loinc=_optional_string(context, fields.get("loinc"), "loinc"),
        total_loinc=_optional_string(context, fields.get("total_loinc"), "total_loinc"),
        reference=_reference(context, fields.get("reference")),
        sources=_strings(context, fields.get("sources", []), "sources"),
        source_path=context.file,
    )
    # Bands and the cutoff are checked against the score range, which needs the items.
    bands = _bands(context, fields.get("bands", []), instrument)
    cutoff = _cutoff(context, fields.get("clinical_cutoff"), instrument)
    return replace(instrument, bands=bands, clinical_cutoff=cutoff)


# --- items and options -------------------------------------------------------

_ITEM_FIELDS = {
    "id": True,
    "text": True,
    "options": False,
    "scale": False,
    "reverse": False,
    "loinc": False,
    "skippable": False,
    "scored": False,
}
_OPTION_FIELDS = {"value": True, "label": True, "loinc": False}
_SCALE_FIELDS = {"min": True, "max": True, "step": False, "anchors": False}


def _option_sets(context: _Context, raw: Any) -> dict[str, tuple[ResponseOption, ...]]:
    sets = _mapping(context, raw, "option_sets")
    return {
        _identifier(context, name, f"option_sets.{name}"): _options(
            context, options, f"option_sets.{name}"
        )
        for name, options in sets.items()
    }


def _items(
    context: _Context, raw: Any, option_sets: Mapping[str, tuple[ResponseOption, ...]]
) -> tuple[Item, ...]:
    entries = _list(context, raw, "items")
    if not entries:
        context.fail("items", "must list at least one item")
    items: list[Item] = []
    for index, entry in enumerate(entries):
        where = f"items[{index}]"
        fields = _mapping(context, entry, where)
        _check_fields(context, fields, where, _ITEM_FIELDS)
        item_id = _identifier(context, fields["id"], f"{where}.id")
        if item_id in {item.id for item in items}:
            context.fail(f"{where}.id", f"duplicate item id {item_id!r}")
        options = _item_options(context, fields, where, option_sets)
        reverse = _boolean(context, fields.get("reverse", False), f"{where}.reverse")
        scored = _boolean(context, fields.get("scored", True), f"{where}.scored")
        if reverse and not scored:
            context.fail(f"{where}.reverse", "an unscored item cannot be reverse-keyed")
        if reverse and len({option.value for option in options}) < 2:
            context.fail(
                f"{where}.reverse",
                "a reverse-keyed item needs a numeric range (at least two distinct option values)",
            )
        items.append(
            Item(
                id=item_id,
                text=_text(context, fields["text"], f"{where}.text"),
                options=options,
                reverse=reverse,
                loinc=_optional_string(context, fields.get("loinc"), f"{where}.loinc"),
                skippable=_boolean(context, fields.get("skippable", False), f"{where}.skippable"),
                scored=scored,
            )
        )
    if not any(item.scored for item in items):
        context.fail("items", "must include at least one scored item")
    return tuple(items)


def _item_options(
    context: _Context,
    fields: Mapping[str, Any],
    where: str,
    option_sets: Mapping[str, tuple[ResponseOption, ...]],
) -> tuple[ResponseOption, ...]:
    has_options, has_scale = "options" in fields, "scale" in fields
    if has_options == has_scale:
        context.fail(
            where, "needs exactly one of 'options' (a list or an option set name) or 'scale'"
        )
    if has_scale:
        return _scale(context, fields["scale"], f"{where}.scale")
    options = fields["options"]
    if isinstance(options, str):
        if options not in option_sets:
            context.fail(f"{where}.options", f"unknown option set {options!r}")
        return option_sets[options]
    return _options(context, options, f"{where}.options")


def _options(context: _Context, raw: Any, where: str) -> tuple[ResponseOption, ...]:
    entries = _list(context, raw, where)
    if not entries:
        context.fail(where, "must list at least one option")
    options: list[ResponseOption] = []
    for index, entry in enumerate(entries):
        place = f"{where}[{index}]"
        fields = _mapping(context, entry, place)
        _check_fields(context, fields, place, _OPTION_FIELDS)
        value = _number(context, fields["value"], f"{place}.value")
        if value in {option.value for option in options}:
            context.fail(f"{place}.value", f"duplicate option value {value!r}")
        options.append(
            ResponseOption(
                value,
                _text(context, fields["label"], f"{place}.label"),
                _optional_string(context, fields.get("loinc"), f"{place}.loinc"),
            )
        )
    return tuple(options)


def _scale(context: _Context, raw: Any, where: str) -> tuple[ResponseOption, ...]:
    """Expand ``scale: {min, max, step, anchors}`` into options; plain points show their number."""
    fields = _mapping(context, raw, where)
    _check_fields(context, fields, where, _SCALE_FIELDS)
    low = _number(context, fields["min"], f"{where}.min")
    high = _number(context, fields["max"], f"{where}.max")
    step = _number(context, fields.get("step", 1), f"{where}.step")
    if step <= 0:
        context.fail(f"{where}.step", "must be positive")
    if high <= low:
        context.fail(f"{where}.max", f"must be greater than min ({low!r})")
    points = round((high - low) / step)
    if not math.isclose(low + points * step, high) or points > 1000:
        context.fail(f"{where}.step", "must divide max - min into at most 1000 equal steps")
    anchors: dict[Number, ResponseOption] = {}
    if "anchors" in fields:
        anchor_options = _options(context, fields["anchors"], f"{where}.anchors")
        anchors = {option.value: option for option in anchor_options}
    values = [_tidy(low + index * step) for index in range(points + 1)]
    for value in anchors:
        if value not in values:
            context.fail(f"{where}.anchors", f"anchor value {value!r} is not a point on the scale")
    return tuple(
        replace(anchors[value], value=value)  # the scale's own value: 10, not 10.0
        if value in anchors
        else ResponseOption(value, dict.fromkeys(context.languages, f"{value:g}"))
        for value in values
    )


def _tidy(value: float) -> Number:
    """Keep whole numbers as ints so labels and JSON read ``3`` rather than ``3.0``."""
    rounded = round(value, 9)
    return int(rounded) if float(rounded).is_integer() else rounded


# --- scoring, subscales, bands, rules ------------------------------------------

_SCORING_FIELDS = {"method": True, "missing": False, "decimals": False, "scale_factor": False}
_MISSING_FIELDS = {"max_missing": True, "prorate": False}


def _scoring(
    context: _Context, raw: Any, n_items: int
) -> tuple[str, int, float | None, MissingRule]:
    fields = _mapping(context, raw, "scoring")
    _check_fields(context, fields, "scoring", _SCORING_FIELDS)
    method = _choice(context, fields["method"], "scoring.method", SCORING_METHODS)
    default_decimals = 0 if method == "sum" else 2
    decimals = _integer(context, fields.get("decimals", default_decimals), "scoring.decimals", 0, 6)
    scale_factor = None
    if method == "scaled":
        if "scale_factor" not in fields:
            context.fail("scoring.scale_factor", "is required with method 'scaled'")
        scale_factor = float(_number(context, fields["scale_factor"], "scoring.scale_factor"))
        if scale_factor <= 0:
            context.fail("scoring.scale_factor", "must be positive")
    elif "scale_factor" in fields:
        context.fail("scoring.scale_factor", "is only allowed with method 'scaled'")
    missing = _mapping(context, fields.get("missing", {"max_missing": 0}), "scoring.missing")
    _check_fields(context, missing, "scoring.missing", _MISSING_FIELDS)
    max_missing = _integer(
        context, missing["max_missing"], "scoring.missing.max_missing", 0, n_items - 1
    )
    prorate = _boolean(context, missing.get("prorate", False), "scoring.missing.prorate")
    if method == "sum" and max_missing > 0 and not prorate:
        context.fail(
            "scoring.missing.prorate",
            "must be true when max_missing > 0 with sum scoring "
            "(otherwise a missing item would silently count as zero)",
        )
    return method, decimals, scale_factor, MissingRule(max_missing, prorate)


_SUBSCALE_FIELDS = {"id": True, "title": True, "items": True, "max_missing": False}


def _subscales(
    context: _Context, raw: Any, item_ids: Sequence[str], scored_ids: Sequence[str]
) -> tuple[Subscale, ...]:
    subscales: list[Subscale] = []
    for index, entry in enumerate(_list(context, raw, "subscales")):
        where = f"subscales[{index}]"
        fields = _mapping(context, entry, where)
        _check_fields(context, fields, where, _SUBSCALE_FIELDS)
        subscale_id = _identifier(context, fields["id"], f"{where}.id")
        if subscale_id in {subscale.id for subscale in subscales}:
            context.fail(f"{where}.id", f"duplicate subscale id {subscale_id!r}")
        members = _list(context, fields["items"], f"{where}.items")
        if not members:
            context.fail(f"{where}.items", "must list at least one item")
        for position, member in enumerate(members):
            if member not in item_ids:
                context.fail(f"{where}.items[{position}]", f"unknown item {member!r}")
            if member not in scored_ids:
                context.fail(
                    f"{where}.items[{position}]", f"item {member!r} is unscored (scored: false)"
                )
            if members.index(member) != position:
                context.fail(f"{where}.items[{position}]", f"item {member!r} is listed twice")
        subscales.append(
            Subscale(
                id=subscale_id,
                title=_text(context, fields["title"], f"{where}.title"),
                item_ids=tuple(members),
                max_missing=_integer(
                    context,
                    fields.get("max_missing", 0),
                    f"{where}.max_missing",
                    0,
                    len(members) - 1,
                ),
            )
        )
    return tuple(subscales)


_BAND_FIELDS = {"label": True, "lower": True, "upper": True, "text": False}


def _bands(context: _Context, raw: Any, instrument: Instrument) -> tuple[Band, ...]:
    """Bands must run upwards, touch without gaps on the rounding grid and cover the range."""
    entries = _list(context, raw, "bands")
    if not entries:
        return ()
    step = 10.0**-instrument.decimals
    low, high = instrument.score_range
    bands: list[Band] = []
    for index, entry in enumerate(entries):
        where = f"bands[{index}]"
        fields = _mapping(context, entry, where)
        _check_fields(context, fields, where, _BAND_FIELDS)
        label = _identifier(context, fields["label"], f"{where}.label")
        if label in {band.label for band in bands}:
            context.fail(f"{where}.label", f"duplicate band label {label!r}")
        lower = float(_number(context, fields["lower"], f"{where}.lower"))
        upper = float(_number(context, fields["upper"], f"{where}.upper"))
        if upper < lower:
            context.fail(f"{where}.upper", f"{upper:g} is below lower ({lower:g})")
        if bands:
            previous = bands[-1]
            if lower <= previous.upper + _TOLERANCE:
                context.fail(
                    f"{where}.lower",
                    f"{lower:g} overlaps band {previous.label!r} "
                    f"({previous.lower:g}-{previous.upper:g})",
                )
            if lower > previous.upper + step + _TOLERANCE:
                context.fail(
                    f"{where}.lower",
                    f"leaves a gap after band {previous.label!r} (which ends at "
                    f"{previous.upper:g}; the next band must start at {previous.upper + step:g})",
                )
        text = _optional_text(context, fields.get("text"), f"{where}.text")
        bands.append(Band(label, lower, upper, text))
    grid_low, grid_high = round_half_up(np.array([low, high]), instrument.decimals).tolist()
    if abs(bands[0].lower - grid_low) > _TOLERANCE:
        context.fail("bands[0].lower", f"must equal the lowest possible score {grid_low:g}")
    if abs(bands[-1].upper - grid_high) > _TOLERANCE:
        context.fail(
            f"bands[{len(bands) - 1}].upper", f"must equal the highest possible score {grid_high:g}"
        )
    return tuple(bands)


def _cutoff(context: _Context, raw: Any, instrument: Instrument) -> float | None:
    if raw is None:
        return None
    cutoff = float(_number(context, raw, "clinical_cutoff"))
    low, high = instrument.score_range
    if not low <= cutoff <= high:
        context.fail("clinical_cutoff", f"{cutoff:g} is outside the score range {low:g}-{high:g}")
    return cutoff


_RELIABLE_CHANGE_FIELDS = {"value": False, "reliability": False, "sd": False, "source": False}


def _reliable_change(context: _Context, raw: Any) -> tuple[float | None, str | None]:
    """Accept a published threshold (``value``) or compute one from ``reliability`` and ``sd``."""
    if raw is None:
        return None, None
    fields = _mapping(context, raw, "reliable_change")
    _check_fields(context, fields, "reliable_change", _RELIABLE_CHANGE_FIELDS)
    source = _optional_string(context, fields.get("source"), "reliable_change.source")
    has_value = "value" in fields
    has_components = "reliability" in fields or "sd" in fields
    if has_value == has_components:
        context.fail(
            "reliable_change", "give either 'value' or both 'reliability' and 'sd', not both"
        )
    if has_value:
        value = float(_number(context, fields["value"], "reliable_change.value"))
        if value <= 0:
            context.fail("reliable_change.value", "must be positive")
        return value, source
    for name in ("reliability", "sd"):
        if name not in fields:
            context.fail(f"reliable_change.{name}", "is required when computing reliable change")
    reliability = float(_number(context, fields["reliability"], "reliable_change.reliability"))
    if not 0 < reliability < 1:
        context.fail("reliable_change.reliability", "must be between 0 and 1 (exclusive)")
    sd = float(_number(context, fields["sd"], "reliable_change.sd"))
    if sd <= 0:
        context.fail("reliable_change.sd", "must be positive")
    return reliable_change_from(reliability, sd), source


_CRITICAL_FIELDS = {"item": True, "operator": True, "value": True, "flag_if_missing": False}


def _critical_items(context: _Context, raw: Any, items: Sequence[Item]) -> tuple[CriticalItem, ...]:
    known = {item.id for item in items}
    critical: list[CriticalItem] = []
    for index, entry in enumerate(_list(context, raw, "critical_items")):
        where = f"critical_items[{index}]"
        fields = _mapping(context, entry, where)
        _check_fields(context, fields, where, _CRITICAL_FIELDS)
        item_id = fields["item"]
        if item_id not in known:
            context.fail(f"{where}.item", f"unknown item {item_id!r}")
        critical.append(
            CriticalItem(
                item_id=item_id,
                operator=_choice(
                    context, fields["operator"], f"{where}.operator", tuple(OPERATORS)
                ),
                value=_number(context, fields["value"], f"{where}.value"),
                flag_if_missing=_boolean(
                    context, fields.get("flag_if_missing", False), f"{where}.flag_if_missing"
                ),
            )
        )
    return tuple(critical)


_REFERENCE_FIELDS = {"alpha": False, "sd": False, "mean": False, "n": False, "source": False}


def _reference(context: _Context, raw: Any) -> Reference | None:
    if raw is None:
        return None
    fields = _mapping(context, raw, "reference")
    _check_fields(context, fields, "reference", _REFERENCE_FIELDS)

    def optional_number(name: str) -> float | None:
        value = fields.get(name)
        return None if value is None else float(_number(context, value, f"reference.{name}"))

    n = fields.get("n")
    return Reference(
        alpha=optional_number("alpha"),
        sd=optional_number("sd"),
        mean=optional_number("mean"),
        n=None if n is None else _integer(context, n, "reference.n", 1, 10**9),
        source=_optional_string(context, fields.get("source"), "reference.source"),
    )


# --- primitive field readers ---------------------------------------------------


def _check_fields(
    context: _Context, fields: Mapping[str, Any], where: str, known: Mapping[str, bool]
) -> None:
    """Reject unknown fields (typos would otherwise be ignored) and report missing ones."""
    prefix = f"{where}." if where else ""
    for name in fields:
        if name not in known:
            context.fail(
                f"{prefix}{name}", f"is not a known field (known: {', '.join(sorted(known))})"
            )
    for name, required in known.items():
        if required and name not in fields:
            context.fail(f"{prefix}{name}", "is required but missing")


def _mapping(context: _Context, raw: Any, where: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        context.fail(where, f"must be a mapping (got {type(raw).__name__})")
    for key in raw:
        if not isinstance(key, str):
            context.fail(where, f"field names must be text (got {key!r})")
    return raw


def _list(context: _Context, raw: Any, where: str) -> list[Any]:
    if not isinstance(raw, list):
        context.fail(where, f"must be a list (got {type(raw).__name__})")
    return raw


def definition_file_name(instrument_id: str, version: str) -> str:
    """The file name a definition of ``(instrument_id, version)`` is written under.

    Raises ``ValueError`` unless the id follows the loader's id rule and the
    version is a plain name (letters, digits, ``.``, ``_``, ``-``; no ``..``), so the name
    can never point outside the folder it is joined to.
    """
    if not _IDENTIFIER.fullmatch(instrument_id):
        raise ValueError(
            f"instrument id {instrument_id!r}: must be lower-case letters, digits and "
            "underscores, starting with a letter"
        )
    if not _FILE_VERSION.fullmatch(version) or ".." in version:
        raise ValueError(
            f"instrument version {version!r}: must be letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return f"{instrument_id}-v{version}.yaml"


def _identifier(context: _Context, raw: Any, where: str) -> str:
    if not isinstance(raw, str) or not _IDENTIFIER.fullmatch(raw):
        context.fail(
            where,
            f"must be lower-case letters, digits and underscores, starting with a letter "
            f"(got {raw!r})",
        )
    return raw


def _version(context: _Context, raw: Any) -> str:
    # YAML reads `version: 1` as an int; accept it, but keep versions as text.
    if isinstance(raw, bool) or not isinstance(raw, str | int) or str(raw).strip() == "":
        context.fail("version", f"must be non-empty text such as '1' (got {raw!r})")
    return str(raw).strip()


def _languages(context: _Context, raw: Any) -> tuple[str, ...]:
    entries = _list(context, raw, "languages")
    if not entries:
        context.fail("languages", "must list at least one language")
    for index, language in enumerate(entries):
        if not isinstance(language, str) or not _LANGUAGE_TAG.fullmatch(language):
            context.fail(
                f"languages[{index}]", f"must be a language tag like 'en' (got {language!r})"
            )
        if entries.index(language) != index:
            context.fail(f"languages[{index}]", f"duplicate language {language!r}")
    return tuple(entries)


def _text(context: _Context, raw: Any, where: str) -> Text:
    """A per-language text; every declared language is required, others are refused."""
    texts = _mapping(context, raw, where)
    for language in context.languages:
        if language not in texts:
            context.fail(
                f"{where}.{language}",
                f"is missing (every text needs all declared languages: "
                f"{', '.join(context.languages)})",
            )
    for language, text in texts.items():
        if language not in context.languages:
            context.fail(f"{where}.{language}", "is not one of the declared languages")
        if not isinstance(text, str) or not text.strip():
            context.fail(f"{where}.{language}", "must be non-empty text")
    return {language: texts[language] for language in context.languages}


def _optional_text(context: _Context, raw: Any, where: str) -> Text:
    return {} if raw is None else _text(context, raw, where)


def _number(context: _Context, raw: object, where: str) -> Number:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        context.fail(where, f"must be a number (got {raw!r})")
    return raw


def _integer(context: _Context, raw: object, where: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        context.fail(where, f"must be a whole number from {low} to {high} (got {raw!r})")
    return raw


def _boolean(context: _Context, raw: Any, where: str) -> bool:
    if not isinstance(raw, bool):
        context.fail(where, f"must be true or false (got {raw!r})")
    return raw


def _choice(context: _Context, raw: object, where: str, choices: Sequence[str]) -> str:
    if not isinstance(raw, str) or raw not in choices:
        context.fail(where, f"must be one of {', '.join(choices)} (got {raw!r})")
    return raw


def _optional_string(context: _Context, raw: Any, where: str) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        context.fail(where, f"must be non-empty text (got {raw!r})")
    return raw


def _strings(context: _Context, raw: Any, where: str) -> tuple[str, ...]:
    entries = _list(context, raw, where)
    return tuple(
        _optional_string(context, entry, f"{where}[{index}]") or ""
        for index, entry in enumerate(entries)
    )
