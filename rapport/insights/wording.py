"""Insight wording stored language-neutral, translated when a page is read.

The worker computes a clinic's insights once, for readers of every language, so the
snapshot cannot hold sentences. It holds *messages* instead: a table title, column
label, note or category label is its English message id (marked with ``gettext_noop``
where it is written, so the catalogue and its coverage test see it), and a sentence
with figures is ``{"msgid": "...%(name)s...", "args": {"name": ...}}`` (:func:`message`)
with the figures already formatted. An argument may itself be a message, or a list of
them (read as a comma-separated list).

:func:`translated_page` turns a stored page into the reader's language, just before it
is rendered or downloaded. An instrument's title or an item's wording, stored in
English, is read in the instrument's own translation (its definition file's), as on
every other page. Other plain strings that are no message id (a published source, a
snapshot written before messages were stored) pass through as they are. Numbers keep
the form the worker gave them (``.91``, ``45%``) in every language.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import get_language, gettext

from rapport.core.instruments import instruments as installed_instruments
from rapport.instruments import Registry

MSGID = "msgid"
ARGS = "args"


def message(msgid: str, **args: Any) -> dict[str, Any]:
    """A stored sentence: ``msgid`` (marked with ``gettext_noop`` by the caller) and its
    arguments, each a formatted figure, a message id, a message or a list of them."""
    return {MSGID: msgid, ARGS: args}


def is_message(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get(MSGID), str)


def translate(value: Any) -> Any:
    """``value`` in the active language: messages and message ids translated, lists of
    them joined with commas, anything else (numbers, None) unchanged."""
    if is_message(value):
        text = gettext(value[MSGID])
        args = value.get(ARGS) or {}
        if not args:
            return text
        values = {name: translate(arg) for name, arg in args.items()}
        try:
            return text % values
        except (KeyError, ValueError, TypeError):
            # A translation whose placeholders do not fit its msgid (the catalogue's
            # check is msgfmt's): the English sentence rather than a broken page.
            return value[MSGID] % values
    if isinstance(value, str):
        # gettext("") would return the catalogue's header.
        if not value:
            return value
        translated = gettext(value)
        if translated == value:
            return instrument_wording(get_language() or "en").get(value, value)
        return translated
    if isinstance(value, list | tuple):
        return ", ".join(str(translate(item)) for item in value)
    return value


def translated_table(stored: Mapping[str, Any]) -> dict[str, Any]:
    """A stored table with its title, note, column labels and text cells translated."""
    text_keys = [column["key"] for column in stored["columns"] if column["kind"] == "text"]
    return {
        **stored,
        "title": translate(stored["title"]),
        "note": translate(stored.get("note", "")),
        "columns": [
            {**column, "label": translate(column["label"])} for column in stored["columns"]
        ],
        "rows": [
            {**row, **{key: translate(row[key]) for key in text_keys if key in row}}
            for row in stored["rows"]
        ],
    }


def translated_page(page: Mapping[str, Any]) -> dict[str, Any]:
    """A stored insight page (tables, readings, notes) in the active language.

    Views call this on the page they are about to render or download, after every other
    change to it (names put on therapists' rows pass through untouched).
    """
    return {
        **page,
        "tables": [translated_table(stored) for stored in page["tables"]],
        "readings": [translate(reading) for reading in page.get("readings", [])],
        "notes": [translate(note) for note in page.get("notes", [])],
    }


def instrument_wording(language: str) -> Mapping[str, str]:
    """English title or item wording of every installed instrument -> its ``language``
    version, from the definition files (empty for English)."""
    if language.startswith("en"):
        return {}
    registry = installed_instruments()
    key = (language, id(registry))
    if key not in _WORDING:
        # The registry is parsed once per process, so this is built once per language,
        # not once per table cell.
        _WORDING[key] = _wording(language, registry)
    return _WORDING[key]


_WORDING: dict[tuple[str, int], Mapping[str, str]] = {}


def _wording(language: str, registry: Registry) -> Mapping[str, str]:
    words: dict[str, str] = {}
    for instrument in registry.values():
        for text in (instrument.title, *(item.text for item in instrument.items)):
            english, local = text.get("en"), text.get(language)
            if english and local:
                words.setdefault(english, local)
    return words
