"""This installation's instruments: the shipped ones plus the clinic's folders.

The one Django-side accessor, below every feature app: the check-ins, the workspace,
the insights, the API, the imports and ``rapport synth`` all read it. :func:`instruments`
is the registry the server's pages read, loaded once per process;
:func:`load_installed_instruments` reads the definitions afresh, for commands that may
have just written one (imports) or run once.
"""

from __future__ import annotations

import threading
from pathlib import Path

from django.conf import settings

from rapport.instruments import Instrument, Registry, instrument_dirs, load_registry
from rapport.instruments.model import RELATIONSHIP_CONSTRUCTS

_loading = threading.Lock()
_loaded: list[Registry] = []


def clinic_instrument_dirs() -> list[Path]:
    """The clinic's folders named by ``RAPPORT_INSTRUMENTS_DIR`` (``os.pathsep``-separated)."""
    return instrument_dirs(settings.INSTRUMENTS_DIR)


def load_installed_instruments() -> Registry:
    """The shipped instruments plus the clinic's folders (``RAPPORT_INSTRUMENTS_DIR``),
    read now, with the clinic's reliable-change values (``RAPPORT_RELIABLE_CHANGE``);
    raises :class:`~rapport.instruments.DefinitionError` naming a bad file or a missing
    folder, or ``ValueError`` for a reliable-change value of an instrument that is not
    installed."""
    registry = load_registry(clinic_instrument_dirs())
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


def instrument_of_alert(code: str) -> Instrument | None:
    """The installed instrument (its current version) whose critical item an alert's
    ``code`` names (``critical:phq9_9``); None for an alert that is not about an item
    (stopped check-ins) or about an instrument no longer installed."""
    registry = instruments()
    for instrument in registry.all_versions():
        if any(code in (c.flag, c.missing_flag) for c in instrument.critical_items):
            return registry.get(instrument.id) or instrument
    return None


def answer_about_the_relationship(code: str) -> bool:
    """Whether the critical answer ``code`` (a safety flag's, ``critical:trust_safe``) is
    about the therapy relationship: its installed instrument measures trust, alliance or
    openness. An alert row knows this itself (``Alert.about_the_relationship``); this is
    for an answer shown before it has raised one (imported or example records)."""
    instrument = instrument_of_alert(code)
    return instrument is not None and instrument.construct in RELATIONSHIP_CONSTRUCTS
