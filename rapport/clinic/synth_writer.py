"""Store a generated synthetic clinic (see :mod:`rapport.synth`) in the database."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import DateTimeField, JSONField, Model, UUIDField
from django.utils import timezone
from tqdm import tqdm

from rapport.accounts.models import User
from rapport.clinic.demographics import age_band
from rapport.clinic.models import (
    Administration,
    Client,
    ClientDemographics,
    ClientIdentity,
    Consent,
    ConsentKind,
    Episode,
    MeasurementPlan,
    Organisation,
    PlanEntry,
    Session,
    Site,
)
from rapport.clinic.plans import STANDARD_PLAN_NAME
from rapport.clinic.signals import (
    administrations_bulk_written,
    synthetic_checkins_open,
    synthetic_history_written,
)
from rapport.instruments import Instrument
from rapport.synth import ClinicChunk, SynthConfig, generate_clients, generate_staff
from rapport.synth.generator import SITES, StaffMember, plan_entries

BATCH_SIZE = 2000


class ClinicExistsError(RuntimeError):
    """The organisation to generate into already exists."""


def write_synthetic_clinic(
    config: SynthConfig,
    instruments: Mapping[str, Instrument],
    *,
    slug: str,
    name: str,
    password: str,
    username_prefix: str = "",
    progress: bool = False,
) -> Organisation:
    """Create organisation ``slug`` and fill it with the clinic ``config`` describes.

    All or nothing: the whole clinic is written in one transaction, so an interrupted run
    leaves no half-seeded organisation behind. The sessions the generator left with an
    open check-in are handed to the check-in app (:data:`synthetic_checkins_open`) in
    that transaction too.
    """
    if Organisation.objects.filter(slug=slug).exists():
        raise ClinicExistsError(
            f"an organisation with slug {slug!r} already exists; choose another --org"
        )
    staff = generate_staff(config)
    usernames = [username_prefix + member.username for member in staff]
    taken = list(User.objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise ClinicExistsError(
            f"staff username(s) already exist: {', '.join(sorted(taken))}; "
            "choose a --username-prefix for this clinic's staff"
        )
    chunks = math.ceil(config.n_clients / config.chunk_size)
    with transaction.atomic():
        organisation = Organisation.objects.create(slug=slug, name=name)
        sites = [Site.objects.create(organisation=organisation, name=n) for n in SITES]
        plan = _create_plan(organisation, config)
        therapists = _create_staff(organisation, staff, password, username_prefix)
        generated = generate_clients(config, instruments)
        open_checkins: list[Session] = []
        for chunk in tqdm(generated, total=chunks, disable=not progress, unit="chunk"):
            open_checkins += _write_chunk(chunk, organisation, sites, plan, therapists, instruments)
        if connection.vendor == "postgresql":
            # Planner statistics for the rows just written: without them (a new database,
            # or autovacuum not yet run) every query of the check-ins opened below reads
            # whole tables, and a 100,000-client clinic takes hours instead of minutes.
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        synthetic_history_written.send(
            sender=write_synthetic_clinic, organisation=organisation, anchor=config.anchor
        )
        synthetic_checkins_open.send(sender=write_synthetic_clinic, sessions=open_checkins)
    administrations_bulk_written.send(sender=write_synthetic_clinic)
    return organisation


def _create_plan(organisation: Organisation, config: SynthConfig) -> MeasurementPlan:
    plan = MeasurementPlan.objects.create(
        organisation=organisation, name=STANDARD_PLAN_NAME, is_default=True
    )
    PlanEntry.objects.bulk_create(PlanEntry(plan=plan, **row) for row in plan_entries(config.plan))
    return plan


def _create_staff(
    organisation: Organisation, staff: list[StaffMember], password: str, prefix: str
) -> list[User]:
    # Hashing once and sharing the hash keeps seeding fast with Argon2; every demo
    # account has the same printed password anyway.
    hashed = make_password(password)
    by_username: dict[str, User] = {}
    for member in staff:
        user = User.objects.create(
            username=prefix + member.username,
            email=prefix + member.email,
            first_name=member.first_name,
            last_name=member.last_name,
            role=member.role,
            organisation=organisation,
            supervisor=by_username.get(prefix + member.supervisor) if member.supervisor else None,
            password=hashed,
        )
        by_username[user.username] = user
    return [user for user in by_username.values() if user.role == "therapist"]


def _write_chunk(
    chunk: ClinicChunk,
    organisation: Organisation,
    sites: list[Site],
    plan: MeasurementPlan,
    therapists: list[User],
    instruments: Mapping[str, Instrument],
) -> list[Session]:
    """Store one chunk; returns its sessions whose check-in is still open."""
    clients = Client.objects.bulk_create(
        [
            Client(organisation=organisation, site=sites[row.site], record_number=row.record_number)
            for row in chunk.clients.itertuples(index=False)
        ],
        batch_size=BATCH_SIZE,
    )
    client_by_key = dict(zip(chunk.clients["client_key"], clients, strict=True))
    ClientIdentity.objects.bulk_create(
        [
            ClientIdentity(
                client=client,
                given_name=row.given_name,
                family_name=row.family_name,
                email=row.email,
                phone=row.phone,
                date_of_birth=row.date_of_birth,
            )
            for client, row in zip(clients, chunk.clients.itertuples(index=False), strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    # Synthetic clients consent to care and to research use of their de-identified data.
    Consent.objects.bulk_create(
        [
            Consent(client=client, kind=kind, granted=True)
            for client in clients
            for kind in ConsentKind
        ],
        batch_size=BATCH_SIZE,
    )
    ClientDemographics.objects.bulk_create(
        [
            ClientDemographics(
                client=client,
                race_ethnicity=list(row.race_ethnicity),
                gender=row.gender,
                preferred_language=row.preferred_language,
                age_band=age_band(int(row.age)),
            )
            for client, row in zip(clients, chunk.clients.itertuples(index=False), strict=True)
        ],
        batch_size=BATCH_SIZE,
    )
    episodes = Episode.objects.bulk_create(
        [
            Episode(
                client=client_by_key[row.client_key],
                therapist=therapists[row.therapist],
                plan=plan,
                started_on=row.started_on,
                ended_on=None if pd.isna(row.ended_on) else row.ended_on,
                status=row.status,
                end_reason=row.end_reason,
            )
            for row in chunk.episodes.itertuples(index=False)
        ],
        batch_size=BATCH_SIZE,
    )
    episode_by_key = dict(zip(chunk.episodes["episode_key"], episodes, strict=True))
    sessions = Session.objects.bulk_create(
        [
            Session(
                episode=episode_by_key[row.episode_key],
                number=row.number,
                scheduled_at=row.scheduled_at,
                status=row.status,
            )
            for row in chunk.sessions.itertuples(index=False)
        ],
        batch_size=BATCH_SIZE,
    )
    session_by_key = {
        (key, number): session
        for key, number, session in zip(
            chunk.sessions["episode_key"], chunk.sessions["number"], sessions, strict=True
        )
    }
    _insert_rows(
        Administration,
        _administration_rows(chunk.administrations, session_by_key, instruments),
    )
    return [
        session
        for session, is_open in zip(sessions, chunk.sessions["checkin_open"], strict=True)
        if is_open
    ]


ADMINISTRATION_COLUMNS = (
    "public_id",
    "session",
    "instrument_id",
    "instrument_version",
    "construct",
    "status",
    "created_at",
    "completed_at",
    "answers",
    "total",
    "subscales",
    "band",
    "flags",
    "missing",
)


def _administration_rows(
    frame: pd.DataFrame,
    session_by_key: Mapping[tuple[int, int], Session],
    instruments: Mapping[str, Instrument],
) -> Iterator[dict[str, Any]]:
    now = timezone.now()
    for instrument_id, rows in frame.groupby("instrument_id", sort=False):
        instrument = instruments[str(instrument_id)]
        scores = _scores(instrument, rows)
        for row, score in zip(rows.itertuples(index=False), scores, strict=True):
            yield {
                "public_id": uuid.uuid4(),
                "session": session_by_key[(row.episode_key, row.number)].pk,
                "instrument_id": row.instrument_id,
                "instrument_version": row.instrument_version,
                "construct": row.construct,
                "status": row.status,
                "created_at": now,
                "completed_at": _timestamp(row.completed_at),
                "answers": row.answers,
                **score,
            }


def _insert_rows(
    model: type[Model],
    rows: Iterable[dict[str, Any]],
    columns: tuple[str, ...] = ADMINISTRATION_COLUMNS,
) -> None:
    """Insert plain rows without building model instances.

    Administrations are nine rows in ten of a synthetic clinic; skipping the ORM's
    per-instance work makes seeding 100,000 clients several times faster. Values are
    adapted with the same database-operations hooks the ORM uses, so what is stored is
    what ``bulk_create`` would have stored.
    """
    fields = [model._meta.get_field(name) for name in columns]
    adapters = [_adapter(field) for field in fields]
    quote = connection.ops.quote_name
    # Table and column names come from model metadata, never from input.
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608
        quote(model._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    names = [field.name for field in fields]
    adapted = (
        tuple(adapt(row[name]) for adapt, name in zip(adapters, names, strict=True)) for row in rows
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY streams rows in one statement: several times faster than INSERTs.
            copy_sql = "COPY {} ({}) FROM STDIN".format(
                quote(model._meta.db_table), ", ".join(quote(field.column) for field in fields)
            )
            with cursor.cursor.copy(copy_sql) as copy:
                for values in adapted:
                    copy.write_row(values)
            return
        batch: list[tuple[Any, ...]] = []
        for values in adapted:
            batch.append(values)
            if len(batch) >= BATCH_SIZE:
                cursor.executemany(sql, batch)
                batch.clear()
        if batch:
            cursor.executemany(sql, batch)


def _adapter(field: Any) -> Callable[[Any], Any]:
    ops = connection.ops
    if isinstance(field, JSONField):
        return lambda value: ops.adapt_json_value(value, field.encoder)
    if isinstance(field, DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, UUIDField) and not connection.features.has_native_uuid_field:
        return lambda value: value.hex
    return lambda value: value


def _scores(instrument: Instrument, rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Model field values for each row's scores, computed in one vectorised pass.

    Rows that are not completed have no answers and get empty scores.
    """
    completed = (rows["status"] == "completed").to_numpy()
    empty = {"total": None, "subscales": {}, "band": "", "flags": [], "missing": []}
    result = [dict(empty) for _ in range(len(rows))]
    if not completed.any():
        return result
    answers = pd.DataFrame(list(rows["answers"][completed]), columns=list(instrument.item_ids))
    scored = instrument.score_frame(answers.astype(float))
    # Only scored items count as missing (an unscored question left blank is not a gap).
    item_ids = list(instrument.scored_item_ids)
    missing = answers[item_ids].isna().to_numpy()
    subscale_columns = {s.id: f"subscale_{s.id}" for s in instrument.subscales}
    flag_columns = {flag: flag.replace(":", "_") for flag in instrument.flag_codes}
    for position, (index, values) in zip(
        np.flatnonzero(completed), enumerate(scored.to_dict("records")), strict=True
    ):
        result[position] = {
            "total": _number(values["total"]),
            "subscales": {s: _number(values[c]) for s, c in subscale_columns.items()},
            "band": "" if pd.isna(values["band"]) else str(values["band"]),
            "flags": [flag for flag, column in flag_columns.items() if values[column]],
            "missing": [item for item, gone in zip(item_ids, missing[index], strict=True) if gone],
        }
    return result


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _timestamp(value: Any) -> Any:
    if value is None or pd.isna(value):
        return None
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
