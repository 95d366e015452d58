"""Database rows to :class:`rapport.alerts.ClientHistory`, for many episodes at once.

:func:`load_records` reads the sessions, administrations, alerts and check-in stops of
any number of episodes in a fixed number of queries (one per table, plus one for the
answers of each instrument's latest administration), so the caseload costs
the same number of queries for 6 clients or 600. Everything after that is plain Python.

Which answers the reader may see is decided by the access layer
(:func:`rapport.security.access.without_hidden_answers`); hidden rows are never read, nor
the alerts their answers raised (:func:`rapport.security.access.without_hidden_alerts`),
so no score, chart or flag can show them.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, ExpressionWrapper, F, Q, QuerySet, TextField
from django.db.models.functions import Cast
from django.utils import timezone

from rapport.accounts.models import User
from rapport.alerts import DEFAULT_RULES, ClientHistory, FlagRules, Score, SessionRecord
from rapport.checkin.models import Alert, CheckinPreference
from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Episode,
    Session,
    SessionStatus,
)
from rapport.core.instruments import instruments
from rapport.instruments import Instrument
from rapport.instruments.model import total_is_estimated
from rapport.security.access import without_hidden_alerts, without_hidden_answers

OPEN_STATUSES = frozenset({AdministrationStatus.PENDING, AdministrationStatus.IN_PROGRESS})
UNANSWERED_STATUSES = frozenset({AdministrationStatus.EXPIRED, AdministrationStatus.DECLINED})


@cache
def flag_rules() -> FlagRules:
    """The clinic's flag thresholds (``RAPPORT_FLAG_RULES_FILE``) or the shipped defaults.

    Read once per process; a broken file fails the first request loudly (FlagRulesError
    names the file and the setting) rather than silently falling back to defaults.
    """
    path = getattr(settings, "FLAG_RULES_FILE", None)
    return FlagRules.from_file(path) if path else DEFAULT_RULES


@dataclass(frozen=True)
class SessionRow:
    number: int
    status: str
    # Whether the session's time has come; compared in SQL so that the caseload does not
    # parse thousands of timestamps it never shows.
    past: bool
    scheduled_at: datetime.datetime | None = None  # only loaded for one client's pages
    # Administration statuses at this session, by instrument id.
    administrations: Mapping[str, str] = field(default_factory=dict)

    @cached_property
    def checkin_state(self) -> str:
        """``none``, ``pending``, ``overdue``, ``completed``, ``declined`` or ``expired``."""
        statuses = set(self.administrations.values())
        if not statuses:
            return "none"
        if AdministrationStatus.COMPLETED in statuses:
            return "completed"
        if statuses & OPEN_STATUSES:
            return "overdue" if self.past else "pending"
        if AdministrationStatus.DECLINED in statuses:
            return "declined"
        return "expired"


@dataclass
class AdministrationRow:
    pk: int
    session: int
    completed_at: datetime.datetime | None
    total: float | None
    flags: tuple[str, ...]
    answers: Mapping[str, Any] = field(default_factory=dict)
    subscales: Mapping[str, Any] = field(default_factory=dict)
    # The total stands in for unanswered items (prorated); read for one client's page only.
    estimated: bool = False


@dataclass
class EpisodeRecord:
    """One episode's sessions, completed scores, alerts and check-in stop, in plain Python."""

    episode: Episode
    sessions: list[SessionRow] = field(default_factory=list)
    # Completed administrations with a total or not, by instrument id, in session order.
    scores: dict[str, list[AdministrationRow]] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    checkins_stopped_at: datetime.datetime | None = None

    def history(self) -> ClientHistory:
        """What :func:`rapport.alerts.evaluate` reads."""
        past_checkins = [
            session.checkin_state
            for session in self.sessions
            if session.past and session.checkin_state in ("completed", "declined", "expired")
        ]
        return ClientHistory(
            scores={
                instrument_id: [
                    Score(row.session, row.total, row.flags, row.answers) for row in rows
                ]
                for instrument_id, rows in self.scores.items()
            },
            sessions=[SessionRecord(s.number, s.status) for s in self.sessions],
            checkins=past_checkins,
        )

    @property
    def sessions_attended(self) -> int:
        return sum(1 for session in self.sessions if session.status == SessionStatus.ATTENDED)

    @property
    def last_attended(self) -> SessionRow | None:
        attended = [s for s in self.sessions if s.status == SessionStatus.ATTENDED]
        return attended[-1] if attended else None

    @property
    def latest_checkin(self) -> SessionRow | None:
        """The last session that had questionnaires at all."""
        with_checkin = [s for s in self.sessions if s.administrations]
        return with_checkin[-1] if with_checkin else None

    def checkin_time(self, session: int | None) -> datetime.datetime | None:
        """When the check-in of ``session`` was completed (latest scores only on the caseload)."""
        times = [
            row.completed_at
            for rows in self.scores.values()
            for row in rows
            if row.session == session and row.completed_at is not None
        ]
        return max(times, default=None)

    def completed(self, instrument_id: str) -> list[AdministrationRow]:
        """Completed administrations of ``instrument_id`` that have a total, in order."""
        return [row for row in self.scores.get(instrument_id, ()) if row.total is not None]


def load_records(
    episodes: Iterable[Episode], reader: User, *, all_answers: bool = False
) -> dict[int, EpisodeRecord]:
    """Records of ``episodes`` (already scoped by the access layer) as ``reader`` may see
    them, by episode pk.

    Five queries whatever the number of episodes (the last one reads the answers and
    completion time of each instrument's latest administration). With ``all_answers``
    every completed administration carries its answers and subscales (one client's page).
    """
    records = {episode.pk: EpisodeRecord(episode) for episode in episodes}
    if not records:
        return records
    ids = list(records)
    now = timezone.now()
    detail_columns = ["scheduled_at"] if all_answers else []
    sessions: dict[int, dict[int, dict[str, str]]] = {pk: {} for pk in ids}
    session_rows = (
        Session.objects.filter(episode_id__in=ids)
        .order_by("episode_id", "number")
        .annotate(past=ExpressionWrapper(Q(scheduled_at__lte=now), output_field=BooleanField()))
        .values_list("episode_id", "number", "status", "past", *detail_columns)
    )
    session_info = _plain_rows(session_rows)
    for episode_id, number, *_rest in session_info:
        sessions[episode_id][number] = {}
    # Only the one-client page needs answers and completion times; the caseload reads the
    # critical-item flags as text and decodes just the few that are not "[]".
    extra = ("completed_at", "answers", "subscales", "missing") if all_answers else ()
    administrations = (
        without_hidden_answers(reader, Administration.objects.filter(session__episode_id__in=ids))
        .annotate(
            episode_pk=F("session__episode_id"),
            session_number=F("session__number"),
            flags_text=Cast("flags", output_field=TextField()),
        )
        .order_by("episode_pk", "session_number", "instrument_id")
        .values_list(
            "pk",
            "episode_pk",
            "session_number",
            "instrument_id",
            "status",
            "total",
            "flags_text",
            *extra,
        )
    )
    rows = _plain_rows(administrations)
    for pk, episode_id, number, instrument_id, status, total, flags_text, *more in rows:
        sessions[episode_id].setdefault(number, {})[instrument_id] = status
        if status != AdministrationStatus.COMPLETED:
            continue
        flags = tuple(json.loads(flags_text)) if flags_text and flags_text != "[]" else ()
        row = AdministrationRow(pk, number, None, total, flags)
        if more:
            row.completed_at, row.answers, row.subscales = more[0], _json(more[1]), _json(more[2])
            row.estimated = total_is_estimated(total, _json(more[3]))
        records[episode_id].scores.setdefault(instrument_id, []).append(row)
    for episode_id, number, status, past, *when in session_info:
        records[episode_id].sessions.append(
            SessionRow(
                number,
                status,
                bool(past),
                when[0] if when else None,
                sessions[episode_id].get(number, {}),
            )
        )
    if not all_answers:
        _load_latest_answers(records.values())
    _load_alerts(records, ids, reader)
    _load_checkin_stops(records)
    return records


def _json(value: Any) -> dict:
    # Django has psycopg hand JSON columns over as text (the ORM decodes them itself).
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value or {}


def _plain_rows(queryset: QuerySet) -> list[tuple]:
    """The rows of a ``values_list`` queryset as the PostgreSQL driver returns them.

    The same SQL the ORM compiles, without its per-value conversion, which for the
    caseload's thousands of administrations cost more than the query itself. Only for
    columns the driver already returns as Python values (numbers, text, JSON, timestamps);
    SQLite returns timestamps and JSON as text, so there the ORM converts as usual.
    """
    if connection.vendor != "postgresql":
        return list(queryset)
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _load_latest_answers(records: Iterable[EpisodeRecord]) -> None:
    # The safety rule names the answer it saw, the risk marker reads whether the latest
    # check-in still endorses a critical item, and the caseload orders flags newest first:
    # all three need only each instrument's latest administration, so the caseload reads
    # a few hundred small JSON blobs, not the whole history.
    latest = {
        rows[-1].pk: rows[-1] for record in records for rows in record.scores.values() if rows
    }
    if not latest:
        return
    for pk, answers, completed_at in Administration.objects.filter(pk__in=list(latest)).values_list(
        "pk", "answers", "completed_at"
    ):
        latest[pk].answers = _json(answers)
        latest[pk].completed_at = completed_at


def _load_alerts(records: dict[int, EpisodeRecord], ids: Sequence[int], reader: User) -> None:
    alerts = (
        without_hidden_alerts(reader, Alert.objects.filter(episode_id__in=ids))
        .select_related("acknowledged_by")
        .annotate(session_number=F("session__number"))
        .order_by("raised_at", "pk")
    )
    for alert in alerts:
        records[alert.episode_id].alerts.append(alert)


def _load_checkin_stops(records: dict[int, EpisodeRecord]) -> None:
    by_client = {record.episode.client_id: record for record in records.values()}
    stops = CheckinPreference.objects.filter(
        client_id__in=list(by_client), stopped_at__isnull=False
    ).values_list("client_id", "stopped_at")
    for client_id, stopped_at in stops:
        by_client[client_id].checkins_stopped_at = stopped_at


def visible_instruments(hidden: frozenset[str]) -> dict[str, Instrument]:
    """The registry without the instruments hidden from this user."""
    return {key: value for key, value in instruments().items() if key not in hidden}
