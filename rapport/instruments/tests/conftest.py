"""Shared fixtures: a small valid definition that each loader test breaks in one way."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from rapport.instruments import load_registry

_MINIMAL_DEFINITION: dict[str, Any] = {
    "schema": "rapport-instrument/1",
    "id": "tiny",
    "version": "1",
    "title": {"en": "Tiny scale", "es": "Escala mínima"},
    "languages": ["en", "es"],
    "construct": "outcome",
    "higher_is_better": False,
    "audience": "therapist",
    "validated": False,
    "notice": {"en": "Test notice.", "es": "Aviso de prueba."},
    "option_sets": {
        "three": [
            {"value": 0, "label": {"en": "Never", "es": "Nunca"}},
            {"value": 1, "label": {"en": "Sometimes", "es": "A veces"}},
            {"value": 2, "label": {"en": "Often", "es": "A menudo"}},
        ]
    },
    "items": [
        {"id": "tiny_1", "text": {"en": "One", "es": "Uno"}, "options": "three"},
        {"id": "tiny_2", "text": {"en": "Two", "es": "Dos"}, "options": "three", "reverse": True},
        {"id": "tiny_3", "text": {"en": "Three", "es": "Tres"}, "options": "three"},
    ],
    "scoring": {"method": "sum", "missing": {"max_missing": 1, "prorate": True}},
    "subscales": [
        {"id": "first_two", "title": {"en": "A", "es": "A"}, "items": ["tiny_1", "tiny_2"]}
    ],
    "bands": [
        {"label": "low", "lower": 0, "upper": 2},
        {"label": "mid", "lower": 3, "upper": 4},
        {"label": "high", "lower": 5, "upper": 6},
    ],
    "clinical_cutoff": 3,
    "reliable_change": {"value": 2},
    "critical_items": [{"item": "tiny_3", "operator": ">=", "value": 2}],
}


@pytest.fixture
def minimal_definition() -> dict[str, Any]:
    """A fresh copy of a valid three-item definition (items 0-2, item 2 reverse-keyed)."""
    return copy.deepcopy(_MINIMAL_DEFINITION)


@pytest.fixture
def write_definition(tmp_path: Path) -> Callable[[str, Any], Path]:
    """Return ``write(name, document)``: dump a dict (or raw text) to ``tmp_path/name``."""

    def write(name: str, document: Any) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = (
            document if isinstance(document, str) else yaml.safe_dump(document, allow_unicode=True)
        )
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture(scope="session")
def registry():
    """The shipped definitions, loaded once."""
    return load_registry()
