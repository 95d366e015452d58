"""This installation's instruments: the shipped ones plus the clinic's folder.

:func:`instruments` is the registry the server's pages read (check-ins, the workspace,
the insights), loaded once per process; :func:`load_installed_instruments` reads the
definitions afresh, for commands that may have just written one (imports) or run once.
"""

from __future__ import annotations

import threading

from django.conf import settings

from rapport.instruments import Instrument, Registry, load_registry

_loading = threading.Lock()
_loaded: list[Registry] = []


def load_installed_instruments() -> Registry:
    """The shipped instruments plus the clinic's folder (``RAPPORT_INSTRUMENTS_DIR``),
    read now, with the clinic's reliable-change values (``RAPPORT_RELIABLE_CHANGE``);
    raises :class:`~rapport.instruments.DefinitionError` naming a bad file, or
    ``ValueError`` for a reliable-change value of an instrument that is not installed."""
    registry = load_registry([settings.INSTRUMENTS_DIR] if settings.INSTRUMENTS_DIR else [])
    if settings.RELIABLE_CHANGE:
        registry = registry.with_reliable_change(
            settings.RELIABLE_CHANGE, "The clinic's own value (RAPPORT_RELIABLE_CHANGE)"
        )
    return registry


def instruments() -> Registry:
    """:func:`load_installed_instruments`, parsed once per process.

    ``rapport serve`` parses them before the workers fork. The lock keeps a worker's
    threads, all arriving at once after a restart, from each parsing every definition
    again.
    """
    if not _loaded:
        with _loading:
            if not _loaded:
                _loaded.append(load_installed_instruments())
    return _loaded[0]


def instrument_for(instrument_id: str, version: str) -> Instrument:
    """The exact version an administration was created with; raises ``LookupError``."""
    found = instruments().get(instrument_id, version=version)
    if found is None:
        raise LookupError(f"instrument {instrument_id!r} version {version!r} is not installed")
    return found
