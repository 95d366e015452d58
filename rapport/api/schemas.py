"""What the API returns: pseudonymous records (public UUIDs, record numbers, codes).

Identities (names, contact details, date of birth) have their own schema and endpoint,
reachable only with the ``identity`` scope.
"""

from __future__ import annotations

import datetime
import uuid

from ninja import Field, Schema

from rapport.clinic.models import (
    AdministrationStatus,
    EndReason,
    EpisodeStatus,
    SessionStatus,
)


class ClientOut(Schema):
    id: uuid.UUID = Field(..., alias="public_id")
    record_number: str
    site: str | None
    created_at: datetime.datetime

    @staticmethod
    def resolve_site(client) -> str | None:
        return client.site.name if client.site_id else None


class ClientIdentityOut(Schema):
    client: uuid.UUID
    given_name: str
    family_name: str
    email: str
    phone: str
    date_of_birth: datetime.date | None


class EpisodeOut(Schema):
    id: uuid.UUID = Field(..., alias="public_id")
    client: uuid.UUID = Field(..., alias="client.public_id")
    therapist: uuid.UUID = Field(..., alias="therapist.public_id")
    plan: int = Field(..., alias="plan_id")
    started_on: datetime.date
    ended_on: datetime.date | None
    status: EpisodeStatus
    end_reason: EndReason | None = None

    @staticmethod
    def resolve_end_reason(episode) -> str | None:
        return episode.end_reason or None


class SessionOut(Schema):
    id: uuid.UUID = Field(..., alias="public_id")
    episode: uuid.UUID = Field(..., alias="episode.public_id")
    number: int
    scheduled_at: datetime.datetime
    status: SessionStatus


class PlanEntryOut(Schema):
    instrument_id: str
    every_n_sessions: int
    first_session: int


class PlanOut(Schema):
    id: int
    name: str
    is_default: bool
    entries: list[PlanEntryOut]

    @staticmethod
    def resolve_entries(plan) -> list:
        return list(plan.entries.all())


class AdministrationOut(Schema):
    id: uuid.UUID = Field(..., alias="public_id")
    session: uuid.UUID = Field(..., alias="session.public_id")
    episode: uuid.UUID = Field(..., alias="session.episode.public_id")
    client: uuid.UUID = Field(..., alias="session.episode.client.public_id")
    session_number: int = Field(..., alias="session.number")
    instrument_id: str
    instrument_version: str
    # Not "construct": that name belongs to pydantic's BaseModel.
    measures: str = Field(
        ..., alias="construct", description="trust, alliance, openness or outcome"
    )
    status: AdministrationStatus
    created_at: datetime.datetime
    started_at: datetime.datetime | None
    completed_at: datetime.datetime | None
    answers: dict[str, float | None]
    total: float | None
    total_estimated: bool = Field(
        ...,
        alias="total_is_estimated",
        description=(
            "true when the total was computed despite missing items (prorated, or the "
            "mean of the answered items): an estimate, not the respondent's full answer"
        ),
    )
    subscales: dict[str, float | None]
    band: str
    flags: list[str] = Field(
        ...,
        description=(
            "scoring flags: critical:<item> (a risk answer) and unanswered:<item> (a risk "
            "item left unanswered)"
        ),
    )
    missing: list[str]
