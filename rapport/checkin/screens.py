"""What the client sees: one screen per questionnaire, then a last screen to send.

Builds plain dicts for the templates from the instruments' texts in the chosen language,
the saved draft and any errors. Nothing here identifies the client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rapport.checkin.answers import Answers, field_name
from rapport.checkin.audience import audience_statement
from rapport.clinic.models import Administration, Organisation
from rapport.core.instruments import instrument_for
from rapport.instruments import Instrument, Item


@dataclass(frozen=True)
class Screen:
    """One questionnaire of the check-in (0-based ``index``)."""

    index: int
    instrument: Instrument


def screens_for(administrations: list[Administration]) -> list[Screen]:
    return [
        Screen(index, instrument_for(a.instrument_id, a.instrument_version))
        for index, a in enumerate(administrations)
    ]


def _text(texts: Mapping[str, str], language: str) -> str:
    return texts.get(language) or texts.get("en") or next(iter(texts.values()), "")


def screen_context(
    screen: Screen,
    *,
    language: str,
    answers: Mapping[str, Answers],
    organisation: Organisation,
    missing: list[str] | None = None,
) -> dict:
    instrument = screen.instrument
    chosen = answers.get(instrument.id, {})
    missing = missing or []
    items = []
    for number, item in enumerate(instrument.items, start=1):
        value = chosen.get(item.id)
        items.append(
            {
                "id": item.id,
                "number": number,
                "name": field_name(instrument, item.id),
                "text": _text(item.text, language),
                "skippable": item.skippable,
                "error": item.id in missing,
                "rating_scale": item.is_rating_scale,
                "anchors": _anchors(item, language) if item.is_rating_scale else [],
                "options": [
                    {
                        "value": _option_text(option.value),
                        "label": _text(option.label, language),
                        "checked": value is not None and option.value == value,
                    }
                    for option in item.options
                ],
            }
        )
    return {
        "instrument_id": instrument.id,
        "title": _text(instrument.title, language),
        "instructions": _text(instrument.instructions, language),
        "notice": _text(instrument.notice, language),
        "audience_statement": audience_statement(instrument, organisation),
        "items": items,
        "errors": [item for item in items if item["error"]],
    }


def _anchors(item: Item, language: str) -> list[dict[str, str]]:
    """The words at the ends of a rating scale, each with its number and end ("0", "Not at
    all", "low"); an end labelled only by its number has none."""
    ends = {"low": item.options[0], "high": item.options[-1]}
    anchors = [
        {"number": _option_text(option.value), "label": _text(option.label, language), "end": end}
        for end, option in ends.items()
    ]
    return [anchor for anchor in anchors if anchor["label"] != anchor["number"]]


def _option_text(value) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
