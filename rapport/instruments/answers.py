"""Validation of answers before scoring: known items, offered values, answer lists."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

from rapport.instruments.errors import AnswerError

if TYPE_CHECKING:
    from rapport.instruments.model import Instrument, Item, Number

_INTEGER = re.compile(r"[+-]?\d+")


def answer_values(
    instrument: Instrument, answers: Mapping[str, Number | None]
) -> list[float | None]:
    """Return the answers as floats in item order, ``None`` for missing items.

    Raises
    ------
    AnswerError
        An unknown item id, a non-numeric value, or a value that is not offered.
    """
    layout = instrument.scoring_layout
    unknown = sorted(set(answers) - layout.item_positions.keys())
    if unknown:
        raise AnswerError(
            f"{instrument.id}: unknown item id(s) {', '.join(map(repr, unknown))}; "
            f"expected some of {', '.join(instrument.item_ids)}"
        )
    values: list[float | None] = []
    for position, item in enumerate(instrument.items):
        value = answers.get(item.id)
        if value is None or _is_missing(value):
            values.append(None)
            continue
        _check_offered(instrument, item, value, layout.offered[position])
        values.append(float(value))
    return values


def answer_list_lengths(instrument: Instrument) -> tuple[int, ...]:
    """The numbers of fields an answer list may have: every item, or up to the last scored one.

    Unscored items placed last (the PHQ-9's "how difficult" question) may be left off, so
    answer lists written for an instrument's scored items (older files, the nine PHQ-9
    answers) still read.
    """
    last_scored = max(p for p, item in enumerate(instrument.items) if item.scored) + 1
    return tuple(sorted({last_scored, len(instrument.items)}))


def describe_answer_list_lengths(instrument: Instrument) -> str:
    """``"10"`` or ``"9 or 10 (the last 1 unscored and optional)"``, for messages."""
    lengths = answer_list_lengths(instrument)
    if len(lengths) == 1:
        return str(lengths[0])
    return (
        f"{lengths[0]} or {lengths[1]} (the last {lengths[1] - lengths[0]} unscored and optional)"
    )


def parse_answer_list(instrument: Instrument, text: str) -> dict[str, Number | None]:
    """Parse ``"0,1,,3"`` (item order, empty field = missing) into validated answers."""
    fields = text.split(",")
    if len(fields) not in answer_list_lengths(instrument):
        raise AnswerError(
            f"{instrument.id}: expected {describe_answer_list_lengths(instrument)} "
            f"comma-separated answers (one per item, empty for a missing item), got {len(fields)}"
        )
    parsed = {
        item.id: _parse_number(instrument, item, field.strip())
        for item, field in zip(instrument.items, fields, strict=False)
    }
    answer_values(instrument, parsed)  # validates the values
    return parsed


def check_matrix(instrument: Instrument, values: np.ndarray) -> None:
    """Raise :class:`AnswerError` if any non-missing cell is not one of its item's options."""
    for position, item in enumerate(instrument.items):
        column = values[:, position]
        present = ~np.isnan(column)
        offered = np.isin(column, np.asarray(item.option_values, dtype=float))
        bad = present & ~offered
        if bad.any():
            first_bad = column[np.argmax(bad)]
            raise AnswerError(
                f"{instrument.id}: {item.id}: {int(bad.sum())} value(s) not among the options "
                f"{_options_text(item)} (first: {first_bad:g})"
            )


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _check_offered(
    instrument: Instrument, item: Item, value: object, offered: frozenset[float]
) -> None:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise AnswerError(f"{instrument.id}: {item.id}: {value!r} is not a number")
    if float(value) not in offered:
        raise AnswerError(
            f"{instrument.id}: {item.id}: {value!r} is not one of the options {_options_text(item)}"
        )


def _parse_number(instrument: Instrument, item: Item, field: str) -> Number | None:
    if field == "":
        return None
    if _INTEGER.fullmatch(field):
        return int(field)
    try:
        number = float(field)
    except ValueError:
        raise AnswerError(f"{instrument.id}: {item.id}: {field!r} is not a number") from None
    if not math.isfinite(number):
        raise AnswerError(f"{instrument.id}: {item.id}: {field!r} is not a finite number")
    return number


def _options_text(item: Item) -> str:
    return ", ".join(f"{value:g}" for value in item.option_values)
