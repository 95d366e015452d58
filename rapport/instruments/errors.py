"""Exceptions raised by the instrument engine."""

from __future__ import annotations

import os


class DefinitionError(ValueError):
    """An instrument definition file is broken.

    The message always names the file, the field path inside the definition
    (for example ``items[3].options[1].value``; list indices start at 0) and
    the problem, so that a clinic can fix its own files without reading code.
    """

    def __init__(self, file: str | os.PathLike[str], field: str, problem: str) -> None:
        self.file = os.fspath(file)
        self.field = field
        self.problem = problem
        super().__init__(f"{self.file}: {field}: {problem}")


class AnswerError(ValueError):
    """A set of answers cannot be scored: unknown item, value not offered, bad list."""
