"""Reading a JSON file from outside with limits on its size and nesting, before parsing.

Python's ``json`` module parses nested arrays and objects recursively, so a file nested a
few thousand levels deep raises ``RecursionError``, and it builds the whole document in
memory (a 150 MB FHIR Bundle took 3.3 GB). Both limits are therefore checked on the raw
file first: its size from the file system, its depth by one linear scan of the text.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rapport.interop.context import InteropError

# Deep enough for any FHIR resource Rapport reads (a Bundle's answers nest about 12 levels).
MAX_DEPTH = 64


def load_json_file(path: Path, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``path``; :class:`InteropError` if it is too large, too deeply
    nested or not JSON."""
    size = path.stat().st_size
    if size > max_bytes:
        raise InteropError(
            f"{path} is {size} bytes, larger than the {max_bytes}-byte limit "
            "(RAPPORT_FHIR_IMPORT_MAX_BYTES); split it into smaller files"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InteropError(f"{path} is not a JSON file: {error}") from None
    depth = nesting_depth(text, stop_after=max_depth)
    if depth > max_depth:
        raise InteropError(f"{path} is nested deeper than {max_depth} levels; refused")
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise InteropError(f"{path} is not a JSON file: {error}") from None


def nesting_depth(text: str, *, stop_after: int) -> int:
    """The deepest nesting of ``[``/``{`` in JSON ``text``, ignoring brackets inside strings;
    the scan stops as soon as the depth passes ``stop_after``.

    >>> nesting_depth('{"a": [1, "]["]}', stop_after=64)
    2
    """
    depth = deepest = 0
    in_string = escaped = False
    for character in text:
        if in_string:
            if escaped:
                escaped = False
            elif character == "\\":
                escaped = True
            elif character == '"':
                in_string = False
        elif character == '"':
            in_string = True
        elif character in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > stop_after:
                    return deepest
        elif character in "]}":
            depth -= 1
    return deepest
