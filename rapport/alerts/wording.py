"""The language of flag messages, without making the flag rules depend on Django.

:mod:`rapport.alerts.rules` is pure Python and writes its one-sentence messages through
:func:`_`, which is the identity (English) until the web application plugs in Django's
translation with :func:`use` (``rapport.workspace.apps``). Messages are then written in
the language active for the request, like every other staff-facing sentence.
"""

from __future__ import annotations

from collections.abc import Callable


def _identity(message: str) -> str:
    return message


def _english() -> str:
    return "en"


_translate: Callable[[str], str] = _identity
_active_language: Callable[[], str | None] = _english


def use(translate: Callable[[str], str], active_language: Callable[[], str | None]) -> None:
    """Write messages with ``translate`` (e.g. ``gettext``) in ``active_language()``."""
    global _translate, _active_language
    _translate, _active_language = translate, active_language


def _(message: str) -> str:
    """``message`` in the active language (English until :func:`use` is called)."""
    return _translate(message)


def language() -> str:
    """The active language code without region ("es" for "es-mx"), for answer labels."""
    return (_active_language() or "en").split("-")[0]
