"""Moved to :mod:`rapport.core.instruments`, below the feature apps; kept so that
imports elsewhere keep working until they are updated."""

from rapport.core.instruments import (  # noqa: F401 - re-exported
    instrument_for,
    instruments,
    load_installed_instruments,
)
