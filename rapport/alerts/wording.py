"""The language of flag messages, and the numbers in them, without making the flag
rules depend on Django.

:mod:`rapport.alerts.rules` is pure Python and writes its one-sentence messages through
:func:`_`, which is the identity (English) until the web application plugs in Django's
translation with :func:`use` (``rapport.workspace.apps``). Messages are then written in
the language active for the request, like every other staff-facing sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal


def _identity(message: str) -> str:
    return message


def _english_plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _english() -> str:
    return "en"


_translate: Callable[[str], str] = _identity
_translate_plural: Callable[[str, str, int], str] = _english_plural
_active_language: Callable[[], str | None] = _english


def use(
    translate: Callable[[str], str],
    translate_plural: Callable[[str, str, int], str],
    active_language: Callable[[], str | None],
) -> None:
    """Write messages with ``translate`` and ``translate_plural`` (e.g. ``gettext`` and
    ``ngettext``) in ``active_language()``."""
    global _translate, _translate_plural, _active_language
    _translate, _translate_plural, _active_language = translate, translate_plural, active_language


def _(message: str) -> str:
    """``message`` in the active language (English until :func:`use` is called)."""
    return _translate(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The form of a message that fits ``count`` ("the last session" for 1, "the last 3
    sessions" otherwise), in the active language (English until :func:`use` is called)."""
    return _translate_plural(singular, plural, count)


def language() -> str:
    """The active language code without region ("es" for "es-mx"), for answer labels."""
    return (_active_language() or "en").split("-")[0]


def number_as_read(value: float) -> str:
    """A score or limit as staff read it on every page: to one decimal, a half rounded up
    as people round by hand (a trust mean of 6.25 reads 6.3), whole numbers without one
    ("24", never "24.0")."""
    # From the shortest decimal that names the float ("6.25", "0.15"), not its binary
    # value, which f"{0.15:.1f}" rounds down.
    rounded = Decimal(repr(float(value))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    # A whole number reads as one: 23.96 is "24", as a score of 24 is; -0.04 is "0".
    return f"{rounded + 0:f}".removesuffix(".0")
