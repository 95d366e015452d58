"""Reading a check-in's answers from form data and checking them against the instruments.

Form fields are named ``<instrument id>.<item id>`` and carry the option value as text.
Anything else in the form data is ignored, so extra fields cannot change what is stored.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from rapport.instruments import Instrument, Item

Number = int | float
Answers = dict[str, Number | None]
COMMENT_FIELD = "comment"
COMMENT_MAX_CHARS = 2000
# The last screen's "I'd like to talk about how therapy is going" box and its line. The
# marker field travels with them, so an unticked box (which a browser does not send) is
# told apart from a post of another screen, which leaves the saved choice alone.
TALK_SHOWN_FIELD = "talk_shown"
TALK_FIELD = "talk"
TALK_NOTE_FIELD = "talk_note"
TALK_NOTE_MAX_CHARS = 500
LANGUAGES = ("en", "es")


class AnswerInputError(ValueError):
    """Form data that no honest form could have sent (unknown option value)."""


def field_name(instrument: Instrument, item_id: str) -> str:
    return f"{instrument.id}.{item_id}"


def option_for(instrument: Instrument, item: Item, raw: str) -> Number:
    """The option value of ``item`` whose text form is ``raw``; raises AnswerInputError."""
    value = _options_by_text(item.option_values).get(raw.strip())
    if value is None:
        raise AnswerInputError(f"{raw!r} is not an answer offered for {instrument.id}.{item.id}")
    return value


@functools.lru_cache(maxsize=1024)
def _options_by_text(values: tuple[Number, ...]) -> dict[str, Number]:
    """Option values by the text the form sends for them (``"2"`` for 2 and 2.0)."""
    return {_as_text(value): value for value in values}


def _as_text(value: Number) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def read_answers(instrument: Instrument, data: Mapping[str, str]) -> Answers:
    """The answers to ``instrument`` present in ``data`` (absent items are left out).

    An empty value means "not answered" (``None``), so a client can clear an answer.
    """
    answers: Answers = {}
    for item in instrument.items:
        raw = data.get(field_name(instrument, item.id))
        if raw is None:
            continue
        answers[item.id] = option_for(instrument, item, raw) if raw.strip() else None
    return answers


def unanswered_required(instrument: Instrument, answers: Mapping[str, Number | None]) -> list[str]:
    """Ids of items the instrument does not allow to skip that have no answer, in order."""
    return [
        item.id for item in instrument.items if not item.skippable and answers.get(item.id) is None
    ]


def read_comment(data: Mapping[str, str]) -> str | None:
    """The free-text comment if the form sent one (trimmed and cut to the maximum)."""
    raw = data.get(COMMENT_FIELD)
    if raw is None:
        return None
    return raw.strip()[:COMMENT_MAX_CHARS]


@dataclass(frozen=True)
class TalkChoice:
    """What the last screen sent about talking with the therapist about the therapy."""

    requested: bool
    note: str = ""


def read_talk_choice(data: Mapping[str, str]) -> TalkChoice | None:
    """The talk box and line if the last screen sent them, else None (keep the saved ones).

    A line written without ticking the box still asks to talk: the client wrote to their
    therapist about the therapy, and a missed tick must not hide it.
    """
    if data.get(TALK_SHOWN_FIELD) is None:
        return None
    note = (data.get(TALK_NOTE_FIELD) or "").strip()[:TALK_NOTE_MAX_CHARS]
    return TalkChoice(requested=bool(data.get(TALK_FIELD)) or bool(note), note=note)


def read_language(candidates: Iterable[str | None], default: str = "en") -> str:
    """The first supported language code among ``candidates``."""
    for candidate in candidates:
        if candidate in LANGUAGES:
            return candidate
    return default
