"""Small builders and readers for FHIR JSON elements shared by the mappings."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from rapport.instruments.fhir.systems import (
    LEGACY_ORDINAL_VALUE,
    LOINC,
    ORDINAL_VALUE,
    TRANSLATION,
    RapportSystems,
)
from rapport.instruments.model import Number, ResponseOption, Text

_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def fhir_id(text: str) -> str:
    """Return ``text`` as a FHIR resource id (letters, digits, ``-`` and ``.``; at most 64).

    Examples
    --------
    >>> fhir_id("rapport_trust-1")
    'rapport-trust-1'
    """
    return re.sub(r"[^A-Za-z0-9\-.]", "-", text)[:64]


def check_fhir_id(value: str, name: str) -> None:
    """Raise :class:`ValueError` unless ``value`` is a valid FHIR id."""
    if not isinstance(value, str) or not _FHIR_ID.fullmatch(value):
        raise ValueError(
            f"{name} must be 1-64 letters, digits, '-' or '.' (a FHIR id), got {value!r}"
        )


def fhir_datetime(moment: datetime, name: str) -> str:
    """Format an aware datetime as FHIR ``dateTime``; naive datetimes are refused."""
    if not isinstance(moment, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (FHIR requires an offset with a time)")
    return moment.isoformat()


def tidy_number(value: float | int) -> Number:
    """Keep whole numbers as ints (``3`` rather than ``3.0``)."""
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def value_code(value: Number) -> str:
    """The code of an option without a LOINC answer code: its value as text.

    Examples
    --------
    >>> value_code(3), value_code(2.5)
    ('3', '2.5')
    """
    return str(tidy_number(value))


def localized(field: str, text: Text, languages: Sequence[str]) -> dict[str, Any]:
    """Return ``{field: default text, "_" + field: translations}`` for a per-language text.

    The first language is the default; every other language present becomes a
    ``translation`` extension (``lang`` + ``content``) on the primitive.
    """
    default, *others = languages
    element: dict[str, Any] = {field: text[default]}
    translations = [
        {
            "url": TRANSLATION,
            "extension": [
                {"url": "lang", "valueCode": language},
                {"url": "content", "valueString": text[language]},
            ],
        }
        for language in others
        if language in text
    ]
    if translations:
        element[f"_{field}"] = {"extension": translations}
    return element


def translations_of(element: Mapping[str, Any], field: str) -> dict[str, str]:
    """Read the ``translation`` extensions on ``element["_" + field]`` as ``{language: text}``."""
    found: dict[str, str] = {}
    for extension in (element.get(f"_{field}") or {}).get("extension", []):
        if extension.get("url") != TRANSLATION:
            continue
        parts = {part.get("url"): part for part in extension.get("extension", [])}
        language = parts.get("lang", {}).get("valueCode")
        content = parts.get("content", {}).get("valueString")
        if language and content:
            found[language] = content
    return found


def read_localized(
    element: Mapping[str, Any], field: str, languages: Sequence[str]
) -> dict[str, str] | None:
    """Return the text of ``field`` in each of ``languages`` that has it; ``None`` if absent."""
    if not languages or not element.get(field):
        return None
    texts = {languages[0]: element[field]}
    translations = translations_of(element, field)
    texts.update(
        {language: translations[language] for language in languages[1:] if language in translations}
    )
    return texts


def ordinal_extension(value: Number) -> dict[str, Any]:
    """The R4 ``ordinalValue`` extension carrying a scored value."""
    return {"url": ORDINAL_VALUE, "valueDecimal": tidy_number(value)}


def read_ordinal(*elements: Mapping[str, Any]) -> Number | None:
    """Return the first ordinal value found on any of ``elements`` (R4 or STU3 URL), else None."""
    for element in elements:
        for extension in element.get("extension", []):
            if extension.get("url") in (ORDINAL_VALUE, LEGACY_ORDINAL_VALUE):
                value = extension.get("valueDecimal")
                if isinstance(value, int | float) and not isinstance(value, bool):
                    return tidy_number(value)
    return None


def option_coding(
    option: ResponseOption, systems: RapportSystems, languages: Sequence[str] = ()
) -> dict[str, Any]:
    """The Coding of an answer option: LOINC answer code where known, else the value code.

    With ``languages`` the label's other languages become translations of ``display``.
    """
    system, code = (LOINC, option.loinc) if option.loinc else (systems.answer_values, None)
    coding: dict[str, Any] = {"system": system, "code": code or value_code(option.value)}
    if languages:
        coding.update(localized("display", option.label, languages))
    return coding


def coding_key(coding: Mapping[str, Any]) -> tuple[Any, Any]:
    """``(system, code)``, the identity of a Coding."""
    return coding.get("system"), coding.get("code")


def codings(concepts: Any) -> list[Mapping[str, Any]]:
    """Every Coding in a CodeableConcept, or in a list of Codings (``Questionnaire.code``)."""
    if isinstance(concepts, Mapping):
        return list(concepts.get("coding", []))
    return list(concepts or [])


def code_in(concepts: Any, system: str) -> str | None:
    """Return the first code of ``system`` in ``concepts``, else None."""
    return next(
        (coding.get("code") for coding in codings(concepts) if coding.get("system") == system),
        None,
    )
