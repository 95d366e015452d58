"""De-identified research export (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)); docs/research-export.md.

Only clients whose research consent is in force are exported. What leaves:

* ``clients``: a study id (random, new for every export), coarse demographic codes (gender,
  age band, whose top band "66+" already holds everyone over 89, race/ethnicity codes,
  preferred language). No name, contact, date of birth, record number, site, free text.
* ``episodes``: a random episode key, the client's study id, start and end as a year or as
  dates shifted by a random number of days per client (the same shift for all of that
  client's dates, so intervals survive; drawn per export and never stored), status and
  end reason codes, a random therapist key.
* ``administrations``: study id, episode key, session number, session date (year or shifted),
  instrument id/version, construct, status, total, band, flags (codes only).
* ``answers``: one row per numeric item answer (study id, episode key, session number,
  instrument, item, value). Check-in comments and every other free text are never read.
* ``aggregate_*``: counts with small cells (1-10) suppressed, complementary cells too
  (:mod:`rapport.psychometrics.suppression`).
* ``manifest.json``: the parameters, file list and row counts (no shifts, no keys).

CSV files go through :mod:`rapport.security.csv_safety`; Parquet files use pyarrow.
"""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from rapport.clinic.models import (
    Administration,
    Client,
    ClientDemographics,
    Consent,
    ConsentKind,
    Episode,
    Organisation,
)
from rapport.psychometrics.suppression import DEFAULT_THRESHOLD, suppress_counts
from rapport.security import audit
from rapport.security.csv_safety import safe_writer

FORMAT = "rapport-research-export"
VERSION = 1
FORMATS = ("csv", "parquet")
DATE_MODES = ("shift", "year")
# A shift of up to half a year either way hides the calendar date but keeps seasons rough.
MAX_SHIFT_DAYS = 182
BATCH_ROWS = 10_000

# Column name -> pyarrow type name, per table (explicit, so empty exports have a schema).
TABLES: dict[str, dict[str, str]] = {
    "clients": {
        "study_id": "string",
        "gender": "string",
        "age_band": "string",
        "race_ethnicity": "string",
        "preferred_language": "string",
    },
    "episodes": {
        "episode_key": "string",
        "study_id": "string",
        "therapist_key": "string",
        "started": "string",
        "ended": "string",
        "status": "string",
        "end_reason": "string",
    },
    "administrations": {
        "study_id": "string",
        "episode_key": "string",
        "session_number": "int64",
        "session_date": "string",
        "instrument_id": "string",
        "instrument_version": "string",
        "construct": "string",
        "status": "string",
        "total": "float64",
        "band": "string",
        "flags": "string",
    },
    "answers": {
        "study_id": "string",
        "episode_key": "string",
        "session_number": "int64",
        "instrument_id": "string",
        "item_id": "string",
        "value": "float64",
    },
}


class ResearchExportError(ValueError):
    """The export cannot run as asked."""


@dataclass
class ExportSummary:
    out_dir: Path
    clients: int = 0
    episodes: int = 0
    administrations: int = 0
    answers: int = 0
    files: list[str] = field(default_factory=list)


def consented_clients(organisation: Organisation):
    """Clients of ``organisation`` whose newest research-consent decision is "granted"."""
    newest = Consent.objects.filter(client=OuterRef("pk"), kind=ConsentKind.RESEARCH).order_by(
        "-recorded_at", "-id"
    )
    return (
        Client.objects.filter(organisation=organisation)
        .annotate(research_consent=Subquery(newest.values("granted")[:1]))
        .filter(research_consent=True)
        .order_by("?")  # row order must not follow record numbers or creation order
    )


def export_research(
    organisation: Organisation,
    out_dir: str | Path,
    *,
    formats: Iterable[str] = FORMATS,
    date_mode: str = "shift",
    user: Any = None,
    via: str = "",
) -> ExportSummary:
    """Write the de-identified export of ``organisation`` into ``out_dir`` (audited)."""
    formats = tuple(dict.fromkeys(formats))
    if not formats or set(formats) - set(FORMATS):
        raise ResearchExportError(f"formats must be some of {FORMATS}; got {formats}")
    if date_mode not in DATE_MODES:
        raise ResearchExportError(f"date mode must be one of {DATE_MODES}; got {date_mode!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise ResearchExportError(f"{out} is not empty; export into a new folder")
    summary = ExportSummary(out_dir=out)
    dates = _DateMasker(date_mode)
    keys = _RandomKeys()
    writers = {name: _TableWriter(out, name, columns, formats) for name, columns in TABLES.items()}
    gender_age: list[tuple[str, str]] = []
    for client in consented_clients(organisation).iterator(chunk_size=2000):
        study_id = keys.new("S")
        demographics = ClientDemographics.objects.filter(client=client).first()
        row = _client_row(study_id, demographics)
        writers["clients"].write(row)
        gender_age.append((row["gender"] or "not_recorded", row["age_band"] or "not_recorded"))
        summary.clients += 1
        shift = dates.new_shift()
        for episode in client.episodes.select_related("therapist").order_by("started_on", "id"):
            episode_key = keys.new("E")
            writers["episodes"].write(
                {
                    "episode_key": episode_key,
                    "study_id": study_id,
                    "therapist_key": keys.for_object("T", episode.therapist_id),
                    "started": dates.mask(episode.started_on, shift),
                    "ended": dates.mask(episode.ended_on, shift),
                    "status": episode.status,
                    "end_reason": episode.end_reason,
                }
            )
            summary.episodes += 1
            for item in _administrations(episode):
                session = item.session
                writers["administrations"].write(
                    {
                        "study_id": study_id,
                        "episode_key": episode_key,
                        "session_number": session.number,
                        "session_date": dates.mask(timezone.localdate(session.scheduled_at), shift),
                        "instrument_id": item.instrument_id,
                        "instrument_version": item.instrument_version,
                        "construct": item.construct,
                        "status": item.status,
                        "total": item.total,
                        "band": item.band,
                        "flags": ";".join(item.flags),
                    }
                )
                summary.administrations += 1
                for item_id, value in _numeric_answers(item.answers):
                    writers["answers"].write(
                        {
                            "study_id": study_id,
                            "episode_key": episode_key,
                            "session_number": session.number,
                            "instrument_id": item.instrument_id,
                            "item_id": item_id,
                            "value": value,
                        }
                    )
                    summary.answers += 1
    for writer in writers.values():
        summary.files += writer.close()
    summary.files += _write_aggregates(out, formats, gender_age)
    summary.files.append(_write_manifest(out, organisation, formats, date_mode, summary))
    audit.record(
        "research.export",
        user=user,
        obj=organisation,
        detail={
            "format": ",".join(formats),
            "method": date_mode,
            "count": summary.clients,
            "rows": summary.administrations,
            **({"via": via} if via else {}),
        },
    )
    return summary


def _client_row(study_id: str, demographics: ClientDemographics | None) -> dict[str, Any]:
    if demographics is None:
        return dict.fromkeys(TABLES["clients"], "") | {"study_id": study_id}
    return {
        "study_id": study_id,
        "gender": demographics.gender,
        "age_band": demographics.age_band,
        "race_ethnicity": ";".join(sorted(demographics.race_ethnicity)),
        "preferred_language": demographics.preferred_language,
    }


def _administrations(episode: Episode) -> Iterator[Administration]:
    return (
        Administration.objects.filter(session__episode=episode)
        .select_related("session")
        .only(
            "instrument_id",
            "instrument_version",
            "construct",
            "status",
            "total",
            "band",
            "flags",
            "answers",
            "session__number",
            "session__scheduled_at",
        )
        .order_by("session__number", "instrument_id")
        .iterator()
    )


def _numeric_answers(answers: dict[str, Any]) -> Iterator[tuple[str, float]]:
    # Answers are option values (numbers); anything else is skipped rather than exported,
    # so no text could ever travel in this column.
    for item_id, value in sorted(answers.items()):
        if isinstance(value, int | float) and not isinstance(value, bool):
            yield item_id, float(value)


class _DateMasker:
    """Dates as a year, or shifted by a per-client random number of days (never stored)."""

    def __init__(self, mode: str):
        self.mode = mode
        self._random = secrets.SystemRandom()

    def new_shift(self) -> datetime.timedelta:
        days = self._random.randint(1, MAX_SHIFT_DAYS) * self._random.choice((-1, 1))
        return datetime.timedelta(days=days)

    def mask(self, day: datetime.date | None, shift: datetime.timedelta) -> str:
        if day is None:
            return ""
        if self.mode == "year":
            return str(day.year)
        return (day + shift).isoformat()


class _RandomKeys:
    """Fresh random ids for this export only; nothing links them to database ids."""

    def __init__(self) -> None:
        self._used: set[str] = set()
        self._by_object: dict[tuple[str, int], str] = {}

    def new(self, prefix: str) -> str:
        while True:
            key = prefix + secrets.token_hex(6)
            if key not in self._used:
                self._used.add(key)
                return key

    def for_object(self, prefix: str, pk: int) -> str:
        if (prefix, pk) not in self._by_object:
            self._by_object[(prefix, pk)] = self.new(prefix)
        return self._by_object[(prefix, pk)]


class _TableWriter:
    """One table written as CSV and/or Parquet, in batches (memory stays bounded)."""

    def __init__(self, out: Path, name: str, columns: dict[str, str], formats: tuple[str, ...]):
        import pyarrow as pa

        self.name = name
        self.columns = list(columns)
        self.schema = pa.schema([(column, getattr(pa, kind)()) for column, kind in columns.items()])
        self._batch: list[dict[str, Any]] = []
        self._csv = None
        self._parquet = None
        self._files: list[str] = []
        if "csv" in formats:
            self._csv_handle = (out / f"{name}.csv").open("w", encoding="utf-8", newline="")
            self._csv = safe_writer(self._csv_handle)
            self._csv.writerow(self.columns)
            self._files.append(f"{name}.csv")
        if "parquet" in formats:
            import pyarrow.parquet as pq

            self._parquet = pq.ParquetWriter(out / f"{name}.parquet", self.schema)
            self._files.append(f"{name}.parquet")

    def write(self, row: dict[str, Any]) -> None:
        self._batch.append(row)
        if len(self._batch) >= BATCH_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if self._csv is not None:
            for row in self._batch:
                self._csv.writerow(["" if row[c] is None else row[c] for c in self.columns])
        if self._parquet is not None and self._batch:
            self._parquet.write_table(pa.Table.from_pylist(self._batch, schema=self.schema))
        self._batch = []

    def close(self) -> list[str]:
        self._flush()
        if self._csv is not None:
            self._csv_handle.close()
        if self._parquet is not None:
            self._parquet.close()
        return self._files


def _write_aggregates(
    out: Path, formats: tuple[str, ...], gender_age: list[tuple[str, str]]
) -> list[str]:
    """Clients by gender x age band, with small cells and their complements suppressed."""
    if not gender_age:
        return []
    counts = pd.crosstab(
        pd.Series([g for g, _ in gender_age], name="gender"),
        pd.Series([a for _, a in gender_age], name="age_band"),
    )
    shown = suppress_counts(counts, threshold=DEFAULT_THRESHOLD)
    table = shown.reset_index().rename(columns={"index": "gender"})
    table.columns = [str(column) for column in table.columns]
    files = []
    name = "aggregate_clients_by_gender_age"
    if "csv" in formats:
        with (out / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = safe_writer(handle)
            writer.writerow(table.columns)
            for values in table.itertuples(index=False):
                writer.writerow(["suppressed" if pd.isna(v) else v for v in values])
        files.append(f"{name}.csv")
    if "parquet" in formats:
        table.astype({c: "Int64" for c in table.columns[1:]}).to_parquet(
            out / f"{name}.parquet", index=False
        )
        files.append(f"{name}.parquet")
    return files


def _write_manifest(
    out: Path,
    organisation: Organisation,
    formats: tuple[str, ...],
    date_mode: str,
    summary: ExportSummary,
) -> str:
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": timezone.now().replace(microsecond=0).isoformat(),
        "organisation": organisation.slug,
        "parameters": {
            "formats": list(formats),
            "dates": {
                "shift": f"each client's dates shifted by one random whole number of days, "
                f"1 to {MAX_SHIFT_DAYS} either way; shifts are not stored",
                "year": "dates reduced to the year",
            }[date_mode],
            "date_mode": date_mode,
            "population": "clients whose newest research-consent decision is 'granted'",
            "identifiers": "study ids, episode keys and therapist keys are random, new per export",
            "suppression_threshold": DEFAULT_THRESHOLD,
        },
        "rows": {
            "clients": summary.clients,
            "episodes": summary.episodes,
            "administrations": summary.administrations,
            "answers": summary.answers,
        },
        "files": sorted(summary.files),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return "manifest.json"
