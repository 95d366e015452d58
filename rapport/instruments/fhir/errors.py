"""Exceptions raised by the FHIR mapping."""

from __future__ import annotations

from collections.abc import Sequence


class FHIRValidationError(ValueError):
    """A resource is not valid FHIR R4 (structure, types, cardinality or a required code)."""


class FHIRImportError(ValueError):
    """A FHIR resource cannot be turned into Rapport data.

    ``problems`` lists every problem found, not just the first, so that one
    round of fixes is enough; the message repeats them one per line.
    """

    def __init__(self, subject: str, problems: Sequence[str]) -> None:
        self.subject = subject
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(f"{subject}:\n{lines}")
