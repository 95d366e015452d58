"""The instrument registry used by check-ins and the workspace, loaded once per process."""

from __future__ import annotations

import threading

from django.conf import settings

from rapport.instruments import Instrument, Registry, load_registry

_loading = threading.Lock()
_loaded: list[Registry] = []


def instruments() -> Registry:
    """The shipped instruments plus the clinic's folder (``RAPPORT_INSTRUMENTS_DIR``).

    Parsed once per process (``rapport serve`` does it before the workers fork). The lock
    keeps a worker's threads, all arriving at once after a restart, from each parsing
    every definition again.
    """
    if not _loaded:
        with _loading:
            if not _loaded:
                extra = [settings.INSTRUMENTS_DIR] if settings.INSTRUMENTS_DIR else []
                _loaded.append(load_registry(extra))
    return _loaded[0]


def instrument_for(instrument_id: str, version: str) -> Instrument:
    """The exact version an administration was created with; raises ``LookupError``."""
    found = instruments().get(instrument_id, version=version)
    if found is None:
        raise LookupError(f"instrument {instrument_id!r} version {version!r} is not installed")
    return found
