"""Saving drafts and the final submission of a check-in.

A draft belongs to the link that saved it: a submission reads only its own link's draft,
never answers saved on another device for the same session. The first submission for a
session wins: it closes every other link of the session, which then stores nothing.

The final submission is one transaction: lock the link row (``SELECT ... FOR UPDATE``) and
the session row, check the link is still open, score and store every due questionnaire,
record the :class:`CheckinSubmission` (unique per link: the last line of defence), close
the link and any sibling links of the session, delete the session's drafts (none can be
sent any more), write the audit entry (in a lane of the audit chain locked along with the
link) and raise alerts, queueing their safety notices, which are sent once the transaction
commits (safety_notices.py). A second or concurrent submission waits on the lock, then
finds the link closed and stores nothing. On SQLite the transaction takes the write lock at BEGIN
(``transaction_mode=IMMEDIATE``), which serialises submissions the same way.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from contextlib import AbstractContextManager, ExitStack, nullcontext
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from rapport.checkin import safety_notices
from rapport.checkin.answers import Answers, TalkChoice, read_language, unanswered_required
from rapport.checkin.links import OPEN_STATUSES
from rapport.checkin.models import (
    STAFF_OPENED_CHANNELS,
    Alert,
    AlertKind,
    Channel,
    CheckinDraft,
    CheckinLink,
    CheckinSubmission,
    TalkRequest,
)
from rapport.checkin.tokens import looks_like_token, token_hash
from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    ClientDemographics,
    Episode,
    Session,
)
from rapport.core import hotpath
from rapport.core.instruments import instrument_for
from rapport.instruments import Instrument, ScoreResult
from rapport.instruments.model import CRITICAL_FLAG_PREFIX, RELATIONSHIP_CONSTRUCTS
from rapport.operations import metrics
from rapport.security import audit


class Outcome(enum.Enum):
    STORED = "stored"
    CLOSED = "closed"  # used, revoked, expired, unknown, or nothing left to answer
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    # instrument id -> ids of required items still unanswered (INCOMPLETE only)
    missing: dict[str, list[str]] = field(default_factory=dict)
    # True when a critical answer on a symptom measure calls for crisis resources
    show_crisis_resources: bool = False
    # True when a critical answer on a relationship questionnaire went to a supervisor
    # (the thank-you page says who follows it up)
    relationship_followup: bool = False
    # The language the submission was recorded in (the page's, the draft's or the client's)
    language: str = "en"
    # The client's clinic, whose crisis resources the thank-you page shows (STORED only)
    organisation_id: int | None = None
    # The questionnaires stored, whose audience the thank-you page states (STORED only)
    instruments: tuple[Instrument, ...] = ()


class LinkClosedError(Exception):
    """The link closed (submitted elsewhere, revoked, expired) while a draft was saved."""


def _locked_open_link_by_pk(pk: int) -> bool:
    now = timezone.now()
    locked = (
        CheckinLink.objects.select_for_update()
        .filter(pk=pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        .values_list("pk", flat=True)
    )
    return bool(list(locked[:1]))


def merged_answers(
    draft: CheckinDraft | None, submitted: Mapping[str, Answers]
) -> dict[str, Answers]:
    """Draft answers overlaid with the ones in this request, per instrument id."""
    merged: dict[str, Answers] = {k: dict(v) for k, v in (draft.answers if draft else {}).items()}
    for instrument_id, answers in submitted.items():
        merged.setdefault(instrument_id, {}).update(answers)
    return merged


def draft_of(link: CheckinLink) -> CheckinDraft | None:
    """The draft saved through ``link``; never another link's draft for the same session."""
    return CheckinDraft.objects.filter(link_id=link.pk).first()


def save_draft(
    link: CheckinLink,
    submitted: Mapping[str, Answers],
    *,
    comment: str | None = None,
    talk: TalkChoice | None = None,
    language: str | None = None,
    screen: int | None = None,
) -> CheckinDraft:
    """Merge ``submitted`` answers into this link's draft (autosave and "Next")."""
    now = timezone.now()
    with transaction.atomic():
        # Waits for a submission in progress; a draft for a closed link is not kept.
        if not _locked_open_link_by_pk(link.pk):
            raise LinkClosedError
        draft = CheckinDraft.objects.select_for_update().filter(link_id=link.pk).first()
        if draft is None:
            draft = CheckinDraft(link_id=link.pk)
            # The client has started: the worklist shows these questionnaires in progress.
            Administration.objects.filter(
                session_id=link.session_id, status=AdministrationStatus.PENDING
            ).update(status=AdministrationStatus.IN_PROGRESS, started_at=now)
        draft.answers = merged_answers(draft, submitted)
        if comment is not None:
            draft.comment = comment
        if talk is not None:
            draft.talk_requested, draft.talk_note = talk.requested, talk.note
        if language is not None:
            draft.language = language
        if screen is not None:
            draft.screen = screen
        draft.updated_at = now
        draft.save()
    return draft


@dataclass(frozen=True)
class _LockedLink:
    """What the submission needs of an open link, read with its row and session locked."""

    id: int
    public_id: str
    channel: str
    session_id: int
    episode_id: int
    client_id: int
    organisation_id: int
    preferred_language: str | None


@dataclass
class _Due:
    """One open administration of the session, scored in place."""

    id: int
    instrument_id: str
    instrument_version: str
    answers: Answers = field(default_factory=dict)
    result: ScoreResult | None = None


# The submission runs on every check-in under row locks, so its statements are written
# out here (from the models' table names) instead of built by the ORM for each request:
# compiling the ORM queries cost several times more than running them.
_LINK, _SESSION = CheckinLink._meta.db_table, Session._meta.db_table
_EPISODE, _CLIENT = Episode._meta.db_table, Client._meta.db_table
_DRAFT, _ADMINISTRATION = CheckinDraft._meta.db_table, Administration._meta.db_table
# One statement finds the link by hash, checks it is open, locks it and its session (in
# that order, as the draft save locks the link first) and reads who it belongs to. A
# concurrent submission makes it wait; PostgreSQL then re-checks the WHERE clause on the
# committed row, finds the link used, and returns nothing.
_LOCK_OPEN_LINK = f"""
    SELECT link.id, link.public_id, link.channel, link.session_id, session.episode_id,
           episode.client_id, client.organisation_id,
           (SELECT preferred_language FROM {ClientDemographics._meta.db_table}
            WHERE client_id = episode.client_id)
    FROM {_LINK} link
    JOIN {_SESSION} session ON session.id = link.session_id
    JOIN {_EPISODE} episode ON episode.id = session.episode_id
    JOIN {_CLIENT} client ON client.id = episode.client_id
    WHERE link.token_hash = %s AND link.used_at IS NULL AND link.revoked_at IS NULL
      AND link.expires_at > %s
"""  # noqa: S608 - table names from the models, values as parameters
# Sent right behind the lock statement (one round trip on PostgreSQL, in the pipeline)
# and so executed after the locks are held: a draft saved just before is seen. It finds
# the link by the token's hash itself; its rows are ignored when the link is closed. The
# draft is this link's own: another link's draft for the session is never read.
_OPEN_ADMINISTRATIONS_AND_DRAFT = f"""
    SELECT a.id, a.instrument_id, a.instrument_version,
           draft.id, draft.answers, draft.comment, draft.language,
           draft.talk_requested, draft.talk_note
    FROM {_LINK} link
    JOIN {_ADMINISTRATION} a ON a.session_id = link.session_id
    LEFT JOIN {_DRAFT} draft ON draft.link_id = link.id
    WHERE link.token_hash = %s AND a.status IN (%s, %s)
    ORDER BY a.id
"""  # noqa: S608
_STORE_SCORES = f"""
    UPDATE {_ADMINISTRATION}
    SET answers = %s, total = %s, subscales = %s, band = %s, flags = %s, missing = %s,
        status = %s, started_at = COALESCE(started_at, %s), completed_at = %s
    WHERE id = %s
"""  # noqa: S608
# PostgreSQL: every questionnaire of the submission in one UPDATE, so statement-level
# triggers on the administrations (the insights summaries) run once per submission. The
# rows travel as one JSON array: one parameter to send instead of seven per questionnaire.
_STORE_ALL_SCORES = f"""
    UPDATE {_ADMINISTRATION} AS a
    SET answers = v.answers, total = v.total, subscales = v.subscales, band = v.band,
        flags = v.flags, missing = v.missing, status = %s,
        started_at = COALESCE(a.started_at, %s), completed_at = %s
    FROM jsonb_to_recordset(%s::jsonb) AS v (
        id bigint, answers jsonb, total float8, subscales jsonb, band text, flags jsonb,
        missing jsonb
    )
    WHERE a.id = v.id
"""  # noqa: S608
_INSERT_SUBMISSION = f"""
    INSERT INTO {CheckinSubmission._meta.db_table}
        (link_id, session_id, submitted_at, language, comment, staff_opened)
    VALUES (%s, %s, %s, %s, %s, %s)
"""  # noqa: S608
# The used link is closed as used, every other open link of the session as revoked.
_CLOSE_SESSION_LINKS = f"""
    UPDATE {_LINK}
    SET used_at = CASE WHEN id = %s THEN %s END,
        revoked_at = CASE WHEN id = %s THEN NULL ELSE %s END
    WHERE session_id = %s AND used_at IS NULL AND revoked_at IS NULL
"""  # noqa: S608
# Every draft of the session: once its check-in is stored, none can be sent.
_DELETE_DRAFTS = f"""
    DELETE FROM {_DRAFT} WHERE link_id IN (SELECT id FROM {_LINK} WHERE session_id = %s)
"""  # noqa: S608
# PostgreSQL: all of the above as one statement (data-modifying CTEs; the parts touch
# different tables, so none needs to see another's effect), one execution instead of four.
_WRITE_SUBMISSION = f"""
    WITH scored AS ({_STORE_ALL_SCORES}),
         closed AS ({_CLOSE_SESSION_LINKS}),
         dropped AS ({_DELETE_DRAFTS})
    {_INSERT_SUBMISSION}
"""


def _field(model, name: str):
    return model._meta.get_field(name)


def _to_db(model, name: str, value):
    """``value`` as the ORM would write it to ``model.name`` (JSON, encryption, dates)."""
    return _field(model, name).get_db_prep_save(value, connection)


def _from_db(model, name: str, value):
    converted = _field(model, name)
    return converted.from_db_value(value, None, connection) if value is not None else None


def _lock_open_link(
    token: str, now
) -> tuple[_LockedLink | None, list[tuple], audit.LaneReservation]:
    """The open link behind ``token`` (locked with its session), its due rows, and a lane.

    The three statements (link, due questionnaires and draft, an audit lane) are sent
    before any result is read: in the pipeline they travel together, and each runs once
    the one before holds its locks.
    """
    lock = " FOR UPDATE OF link, session" if connection.features.has_select_for_update_of else ""
    hashed = token_hash(token)
    with hotpath.cursor() as link_cursor, hotpath.cursor() as due_cursor:
        link_cursor.execute(
            _LOCK_OPEN_LINK + lock, [hashed, _to_db(CheckinLink, "expires_at", now)]
        )
        due_cursor.execute(_OPEN_ADMINISTRATIONS_AND_DRAFT, [hashed, *OPEN_STATUSES])
        lane = audit.reserve_lane()
        row = link_cursor.fetchone()
        due_rows = due_cursor.fetchall()
    if row is None:
        return None, [], lane
    public_id = str(_field(CheckinLink, "public_id").to_python(row[1]))
    return _LockedLink(row[0], public_id, *row[2:]), due_rows, lane


def _due_and_draft(link_id: int, rows: list[tuple]) -> tuple[list[_Due], CheckinDraft | None]:
    due = [_Due(row[0], row[1], row[2]) for row in rows]
    draft_id, answers, comment, language, talk_requested, talk_note = (
        rows[0][3:] if rows else (None,) * 6
    )
    if draft_id is None:
        return due, None
    draft = CheckinDraft(
        id=draft_id,
        link_id=link_id,
        answers=_from_db(CheckinDraft, "answers", answers),
        comment=_from_db(CheckinDraft, "comment", comment),
        language=language,
        talk_requested=bool(talk_requested),
        talk_note=_from_db(CheckinDraft, "talk_note", talk_note) or "",
    )
    return due, draft


def _write(link: _LockedLink, due: list[_Due], *, now, language: str, comment: str) -> None:
    """Store the scored questionnaires and the submission, close the session's links and
    delete its drafts: one statement on PostgreSQL, one per row and table elsewhere."""
    scored = [item for item in due if item.result is not None]
    when = _to_db(Administration, "completed_at", now)
    completed = AdministrationStatus.COMPLETED.value
    submission = [
        link.id,
        link.session_id,
        _to_db(CheckinSubmission, "submitted_at", now),
        language,
        _to_db(CheckinSubmission, "comment", comment),
        link.channel in STAFF_OPENED_CHANNELS,
    ]
    close_links = [link.id, submission[2], link.id, submission[2], link.session_id]
    with hotpath.cursor() as cursor:
        if connection.vendor == "postgresql":
            rows = [
                {
                    "id": item.id,
                    "answers": item.answers,
                    "total": item.result.total,
                    "subscales": item.result.subscales,
                    "band": item.result.band or "",
                    "flags": item.result.flags,
                    "missing": item.result.missing,
                }
                for item in scored
            ]
            scores = [completed, when, when, json.dumps(rows)]
            cursor.execute(_WRITE_SUBMISSION, [*scores, *close_links, link.session_id, *submission])
            return
        cursor.executemany(
            _STORE_SCORES,
            [
                [
                    _to_db(Administration, "answers", item.answers),
                    item.result.total,
                    _to_db(Administration, "subscales", item.result.subscales),
                    item.result.band or "",
                    _to_db(Administration, "flags", item.result.flags),
                    _to_db(Administration, "missing", item.result.missing),
                    completed,
                    when,
                    when,
                    item.id,
                ]
                for item in scored
            ],
        )
        cursor.execute(_INSERT_SUBMISSION, submission)
        cursor.execute(_CLOSE_SESSION_LINKS, close_links)
        cursor.execute(_DELETE_DRAFTS, [link.session_id])


# Kept in session 7 (#15), with _commit_now and the audit lane reservation: without them a
# submission takes seven round trips instead of two (BENCHMARKS.md, "Session 7").
def _pipelined(own_transaction: bool) -> AbstractContextManager:
    """On PostgreSQL, psycopg's pipeline mode inside the submission's transaction.

    Statements whose results are not read (the writes) are sent together with the next
    one that is: the reads of the link, the due questionnaires and an audit lane go in
    one round trip, and the writes, the audit entry and the COMMIT (:func:`_commit_now`)
    in one more. Entered inside the transaction, after Django has switched autocommit
    off (which, inside a pipeline, would cost a round trip of its own). Errors in a
    queued statement surface at the next read or at the COMMIT and roll back the whole
    transaction as usual.

    Only for a transaction of its own: rolling back to a savepoint (a submission inside
    a caller's transaction) does not leave psycopg's aborted-pipeline state, a full
    ROLLBACK does.
    """
    if connection.vendor != "postgresql" or not own_transaction:
        return nullcontext()
    connection.ensure_connection()
    return connection.connection.pipeline()


def _commit_now(own_transaction: bool) -> None:
    """COMMIT with the queued writes, in the same round trip (PostgreSQL pipeline).

    Django's atomic block then finds the transaction already committed: its own COMMIT
    is a no-op for psycopg, and its on-commit callbacks run as usual.
    """
    if connection.vendor == "postgresql" and own_transaction:
        with connection.wrap_database_errors:  # psycopg's errors as Django's
            connection.connection.commit()


def submit_checkin(
    token: str,
    submitted: Mapping[str, Answers],
    *,
    comment: str | None,
    talk: TalkChoice | None = None,
    language: str | None = None,
    kiosk_link_id: str | None = None,
) -> SubmitResult:
    """Store the check-in behind ``token`` once; see the module docstring.

    ``language`` is the one the client chose on the page; without it the draft's, else
    the client's preferred language is recorded (the result says which).
    ``kiosk_link_id`` is the kiosk link this device was started with: a kiosk link is
    sent only from its own tablet (rapport.checkin.kiosk). ``talk`` is the last screen's
    "I'd like to talk about how therapy is going" (None: the draft's); ticked, it stores a
    :class:`TalkRequest` for the therapist, in the same transaction.
    """
    if not looks_like_token(token):
        return SubmitResult(Outcome.CLOSED)
    now = timezone.now()
    own_transaction = not connection.in_atomic_block
    with transaction.atomic(), _pipelined(own_transaction), ExitStack() as cleanup:
        link, due_rows, lane = _lock_open_link(token, now)
        cleanup.callback(lane.release)
        if link is None or (link.channel == Channel.KIOSK and link.public_id != kiosk_link_id):
            return SubmitResult(Outcome.CLOSED)
        # Links are issued only after the plan's administrations exist (links.py).
        due, draft = _due_and_draft(link.id, due_rows)
        if not due:
            return SubmitResult(Outcome.CLOSED)
        chosen_language = read_language(
            [language, draft.language if draft else None, link.preferred_language]
        )
        answers = merged_answers(draft, submitted)
        missing: dict[str, list[str]] = {}
        # Critical answers, each with its questionnaire's construct: an answer about the
        # relationship goes to a supervisor, and the crisis lines are not what the client
        # needs.
        critical_codes: list[tuple[str, str]] = []
        stored: list[Instrument] = []
        for item in due:
            instrument = instrument_for(item.instrument_id, item.instrument_version)
            stored.append(instrument)
            item_ids = set(instrument.item_ids)  # a property that builds a new tuple
            given = {
                item_id: value
                for item_id, value in answers.get(instrument.id, {}).items()
                if item_id in item_ids
            }
            still_missing = unanswered_required(instrument, given)
            if still_missing:
                missing[instrument.id] = still_missing
                continue
            item.answers, item.result = given, instrument.score(given)
            # Only a critical answer is urgent; other scoring flags are shown on the pages.
            critical_codes.extend(
                (flag, instrument.construct)
                for flag in item.result.flags
                if flag.startswith(CRITICAL_FLAG_PREFIX)
            )
        if missing:
            return SubmitResult(Outcome.INCOMPLETE, missing=missing, language=chosen_language)
        final_comment = comment if comment is not None else (draft.comment if draft else "")
        _write(link, due, now=now, language=chosen_language, comment=final_comment)
        # The submission's entry first: it is the one the reserved lane was read for.
        audit.record(
            "checkin.submit",
            object_type=CheckinLink._meta.label_lower,
            object_id=link.public_id,
            detail={"count": len(due), "via": link.channel},
            reserved=lane,
        )
        final_talk = talk or TalkChoice(
            bool(draft and draft.talk_requested), draft.talk_note if draft else ""
        )
        if final_talk.requested:
            # Rare (an ORM insert is fine here); no audit detail: the request is the
            # client's own words, and the submission's entry already records the check-in.
            TalkRequest.objects.create(
                episode_id=link.episode_id,
                session_id=link.session_id,
                raised_at=now,
                note=final_talk.note,
            )
        alerts = []
        for code, construct in critical_codes:
            alert = Alert.objects.create(
                organisation_id=link.organisation_id,
                kind=AlertKind.CRITICAL_ITEM,
                client_id=link.client_id,
                episode_id=link.episode_id,
                session_id=link.session_id,
                code=code,
                construct=construct,
                raised_at=now,
            )
            audit.record("alert.raise", obj=alert, detail={"reason": AlertKind.CRITICAL_ITEM})
            alerts.append(alert)
        # Queued with the alerts, sent after COMMIT: a rollback tells nobody.
        safety_notices.queue_for_new_alerts(alerts, now)
        _commit_now(own_transaction)
    metrics.count_checkin_submitted(link.channel)
    return SubmitResult(
        Outcome.STORED,
        show_crisis_resources=any(
            construct not in RELATIONSHIP_CONSTRUCTS for _code, construct in critical_codes
        ),
        relationship_followup=any(
            construct in RELATIONSHIP_CONSTRUCTS for _code, construct in critical_codes
        ),
        language=chosen_language,
        organisation_id=link.organisation_id,
        instruments=tuple(stored),
    )
