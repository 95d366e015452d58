"""CSV output that spreadsheets cannot turn into formulas (CSV/formula injection).

Excel, LibreOffice and Google Sheets treat a cell starting with ``=``, ``+``, ``-`` or
``@`` (and, in some versions, a tab, carriage return or NUL before one) as a formula,
which can run commands or leak data when a clinician opens an export. Every CSV writer
in Rapport goes through :func:`safe_writer` (or :func:`neutralise` for one value): text
cells that start with one of those characters get a leading ``'``, which spreadsheets
show as plain text. Numbers are written as numbers, so ``-3`` stays ``-3``; pass numeric
values as ``int``/``float``/``Decimal``, not as strings.
"""

from __future__ import annotations

import csv
import decimal
from collections.abc import Iterable
from typing import Any

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def neutralise(value: Any) -> Any:
    """``value`` made safe for a CSV cell; text starting with a formula trigger gets ``'``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float | decimal.Decimal):
        return value
    text = str(value)
    if text.startswith(FORMULA_TRIGGERS):
        return "'" + text
    return text


def neutralise_row(row: Iterable[Any]) -> list[Any]:
    return [neutralise(value) for value in row]


class SafeWriter:
    """A ``csv.writer`` whose every cell passes through :func:`neutralise`."""

    def __init__(self, file, **writer_options):
        self._writer = csv.writer(file, **writer_options)

    def writerow(self, row: Iterable[Any]):
        return self._writer.writerow(neutralise_row(row))

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def safe_writer(file, **writer_options) -> SafeWriter:
    """Use instead of ``csv.writer(file, ...)`` for anything a person may open."""
    return SafeWriter(file, **writer_options)


class SafeDictWriter(csv.DictWriter):
    """A ``csv.DictWriter`` whose every cell (header included) passes through neutralise."""

    def writerow(self, rowdict):
        return super().writerow({key: neutralise(value) for key, value in rowdict.items()})

    def writerows(self, rowdicts):
        for rowdict in rowdicts:
            self.writerow(rowdict)
