"""The set of instruments a Rapport installation knows: shipped ones plus a clinic's own."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path

from rapport.instruments.loader import (
    load_directory,
    reject_duplicate_versions,
    reject_shared_critical_items,
)
from rapport.instruments.model import Instrument

PathLike = str | os.PathLike[str]

#: The environment variable naming the clinic's folders of definitions.
ENV_INSTRUMENTS_DIR = "RAPPORT_INSTRUMENTS_DIR"


def builtin_definitions_dir() -> Path:
    """Return the directory of the definitions shipped inside the package."""
    return Path(__file__).resolve().parent / "definitions"


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Order versions naturally (``"2" < "10"``, ``"1.2" < "1.10"``); text sorts after numbers."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-]", version)
    )


class Registry(Mapping[str, Instrument]):
    """Instruments by id; looking an id up gives its newest version.

    ``iter(registry)`` yields ids, ``len(registry)`` counts ids, and
    :meth:`get` can ask for a specific version. Two definitions with the same
    ``(id, version)`` are refused, naming both files, and so are two instruments that
    name the same item id as a critical item.
    """

    def __init__(self, instruments: Iterable[Instrument]) -> None:
        every = list(instruments)
        reject_duplicate_versions(every)
        reject_shared_critical_items(every)
        by_id: dict[str, list[Instrument]] = {}
        for instrument in every:
            by_id.setdefault(instrument.id, []).append(instrument)
        self._versions = {
            instrument_id: tuple(sorted(versions, key=lambda item: version_key(item.version)))
            for instrument_id, versions in sorted(by_id.items())
        }

    def __getitem__(self, instrument_id: str) -> Instrument:
        try:
            return self._versions[instrument_id][-1]
        except KeyError:
            known = ", ".join(self._versions) or "none"
            raise KeyError(f"unknown instrument {instrument_id!r} (known: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._versions)

    def __len__(self) -> int:
        return len(self._versions)

    def get(  # type: ignore[override]
        self, instrument_id: str, default: Instrument | None = None, *, version: str | None = None
    ) -> Instrument | None:
        """Return the newest (or the given) version of ``instrument_id``, else ``default``."""
        versions = self._versions.get(instrument_id, ())
        if version is None:
            return versions[-1] if versions else default
        return next((item for item in versions if item.version == str(version)), default)

    def versions(self, instrument_id: str) -> tuple[Instrument, ...]:
        """Return every loaded version of ``instrument_id``, oldest first (empty if unknown)."""
        return self._versions.get(instrument_id, ())

    def all_versions(self) -> tuple[Instrument, ...]:
        """Return every loaded instrument version, grouped by id."""
        return tuple(item for versions in self._versions.values() for item in versions)

    def with_reliable_change(self, thresholds: Mapping[str, float], source: str) -> Registry:
        """Return a registry whose listed instruments use the clinic's reliable-change values.

        Parameters
        ----------
        thresholds : Mapping[str, float]
            Instrument id to a reliable-change threshold in score points, for every
            version of that instrument (see :func:`parse_reliable_change`).
        source : str
            Where the values come from, kept as ``reliable_change_source``.

        Raises
        ------
        ValueError
            An id that is not loaded, or a threshold that is not a positive number.

        Notes
        -----
        The shipped values of Rapport's own check-ins are placeholders borrowed from
        other scales; a clinic replaces them with values estimated on its own clients
        (the instrument-health page reports their reliability).
        """
        unknown = sorted(set(thresholds) - set(self._versions))
        if unknown:
            raise ValueError(
                f"reliable change for unknown instrument(s) {', '.join(unknown)} "
                f"(known: {', '.join(self._versions)})"
            )
        for instrument_id, value in thresholds.items():
            if isinstance(value, bool) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"reliable change for {instrument_id} must be positive")
        return Registry(
            replace(
                instrument,
                reliable_change=float(thresholds[instrument.id]),
                reliable_change_source=source,
            )
            if instrument.id in thresholds
            else instrument
            for instrument in self.all_versions()
        )


def parse_reliable_change(text: str) -> dict[str, float]:
    """Parse ``"rapport_trust=0.7,rapport_alliance=5"`` into instrument id to threshold.

    Raises
    ------
    ValueError
        A part that is not ``id=number``, a repeated id, or a number that is not positive.

    Examples
    --------
    >>> parse_reliable_change("rapport_trust=0.7, rapport_alliance=5")
    {'rapport_trust': 0.7, 'rapport_alliance': 5.0}
    >>> parse_reliable_change("")
    {}
    """
    thresholds: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        instrument_id, equals, number = (piece.strip() for piece in part.partition("="))
        try:
            value = float(number) if equals and instrument_id else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value <= 0:
            raise ValueError(f"{part!r} is not instrument_id=positive number")
        if instrument_id in thresholds:
            raise ValueError(f"{instrument_id} is given twice")
        thresholds[instrument_id] = value
    return thresholds


def instrument_dirs(setting: str | None, extra_dirs: Iterable[PathLike] = ()) -> list[Path]:
    """The clinic folders named by ``RAPPORT_INSTRUMENTS_DIR``, then ``extra_dirs``, each once.

    Parameters
    ----------
    setting : str or None
        The variable's value: one folder, or several separated by ``os.pathsep``
        (``:`` on Linux and macOS, ``;`` on Windows). Empty parts are skipped.
    extra_dirs : iterable of path
        Further folders, for example ``rapport score --instruments-dir``.

    Returns
    -------
    list of Path
        In the order given; a folder named twice (even spelled differently) is kept
        once, so that it is not refused as defining every instrument twice.

    Examples
    --------
    >>> [str(folder) for folder in instrument_dirs(os.pathsep.join(["/srv/a", "", "/srv/b"]))]
    ['/srv/a', '/srv/b']
    >>> [str(folder) for folder in instrument_dirs("/srv/a", ["/srv/a/", "/srv/c"])]
    ['/srv/a', '/srv/c']
    >>> instrument_dirs(None)
    []
    """
    named = [part for part in (setting or "").split(os.pathsep) if part]
    unique: dict[Path, Path] = {}
    for entry in [*named, *extra_dirs]:
        unique.setdefault(Path(entry).resolve(), Path(entry))
    return list(unique.values())


def load_registry(extra_dirs: Iterable[PathLike] | PathLike = ()) -> Registry:
    """Load the shipped definitions plus each clinic-supplied directory.

    Parameters
    ----------
    extra_dirs : iterable of path, or one path
        Folders of licensed or locally authored definitions (for example the
        one named by ``RAPPORT_INSTRUMENTS_DIR``).

    Returns
    -------
    Registry

    Raises
    ------
    DefinitionError
        A broken file, a missing folder, or the same ``(id, version)`` defined
        twice anywhere (including a clinic file shadowing a shipped one).
    """
    if isinstance(extra_dirs, str | os.PathLike):
        extra_dirs = (extra_dirs,)
    instruments = load_directory(builtin_definitions_dir())
    for directory in extra_dirs:
        instruments.extend(load_directory(directory))
    return Registry(instruments)
