"""Store a generated synthetic clinic (see :mod:`rapport.synth`) in the database."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd
from django.contrib.auth.hashers import make_password
from django.db import transaction
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
    leaves no half-seeded organisation behind.
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
        for chunk in tqdm(generated, total=chunks, disable=not progress, unit="chunk"):
            _write_chunk(chunk, organisation, sites, plan, therapists, instruments)
    return organisation


def _create_plan(organisation: Organisation, config: SynthConfig) -> MeasurementPlan:
    plan = MeasurementPlan.objects.create(
        organisation=organisation, name="Standard check-in plan", is_default=True
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
) -> None:
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
    Administration.objects.bulk_create(
        _administrations(chunk.administrations, session_by_key, instruments),
        batch_size=BATCH_SIZE,
    )


def _administrations(
    frame: pd.DataFrame,
    session_by_key: Mapping[tuple[int, int], Session],
    instruments: Mapping[str, Instrument],
) -> list[Administration]:
    records: list[Administration] = []
    for instrument_id, rows in frame.groupby("instrument_id", sort=False):
        instrument = instruments[str(instrument_id)]
        for row in rows.itertuples(index=False):
            administration = Administration(
                session=session_by_key[(row.episode_key, row.number)],
                instrument_id=row.instrument_id,
                instrument_version=row.instrument_version,
                construct=row.construct,
                status=row.status,
                answers=row.answers,
                completed_at=_timestamp(row.completed_at),
            )
            if row.status == "completed":
                administration.apply_scores(instrument.score(row.answers))
            records.append(administration)
    return records


def _timestamp(value: Any) -> Any:
    if value is None or pd.isna(value):
        return None
    return value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
