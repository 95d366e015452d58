"""Rapport's instrument engine: declarative questionnaire definitions and their scoring.

Pure Python (PyYAML, NumPy; pandas only for :meth:`Instrument.score_frame`), no
Django. See ``docs/instruments.md`` for the definition format.
"""

from rapport.instruments.errors import AnswerError, DefinitionError
from rapport.instruments.loader import (
    SCHEMA_MARKER,
    definition_file_name,
    load_definition,
    load_directory,
)
from rapport.instruments.model import (
    Band,
    CriticalItem,
    Instrument,
    Item,
    MissingRule,
    Reference,
    ResponseOption,
    ScoreResult,
    Subscale,
    reliable_change_from,
)
from rapport.instruments.registry import (
    ENV_INSTRUMENTS_DIR,
    Registry,
    builtin_definitions_dir,
    instrument_dirs,
    load_registry,
)

__all__ = [
    "ENV_INSTRUMENTS_DIR",
    "SCHEMA_MARKER",
    "AnswerError",
    "Band",
    "CriticalItem",
    "DefinitionError",
    "Instrument",
    "Item",
    "MissingRule",
    "Reference",
    "Registry",
    "ResponseOption",
    "ScoreResult",
    "Subscale",
    "builtin_definitions_dir",
    "definition_file_name",
    "instrument_dirs",
    "load_definition",
    "load_directory",
    "load_registry",
    "reliable_change_from",
]
