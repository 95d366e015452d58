"""The instrument registry used by check-ins, loaded once per process."""

from __future__ import annotations

from functools import cache

from django.conf import settings

from rapport.instruments import Instrument, Registry, load_registry


@cache
def instruments() -> Registry:
    extra = [settings.INSTRUMENTS_DIR] if settings.INSTRUMENTS_DIR else []
    return load_registry(extra)


def instrument_for(instrument_id: str, version: str) -> Instrument:
    """The exact version an administration was created with; raises ``LookupError``."""
    found = instruments().get(instrument_id, version=version)
    if found is None:
        raise LookupError(f"instrument {instrument_id!r} version {version!r} is not installed")
    return found
