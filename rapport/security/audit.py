"""The audit trail: :func:`record` is the one way any module writes an audit event.

Every event is chained to the one before it with HMAC-SHA256 under the audit key
(``RAPPORT_AUDIT_KEY`` or ``RAPPORT_AUDIT_KEY_FILE``; never the database)::

    mac[n] = HMAC(key, mac[n-1] + "\\n" + canonical_json(entry n without its mac))

There are up to :data:`LANES` such chains side by side (each event records its ``lane``;
each lane has its own :class:`AuditChainHead` row, its own ``seq`` and, after a purge,
its own checkpoint). An append takes whichever lane's head is free
(``FOR UPDATE SKIP LOCKED``), so concurrent requests append in parallel instead of
queueing on one row for the length of each other's commit; a quiet system only ever
uses lane 1, and SQLite, which serialises writers anyway, always does.

:func:`verify` recomputes every chain. An edited entry fails its MAC; a removed or
reordered entry breaks the ``seq`` sequence or the link to the previous MAC; a removed
tail no longer reaches the end recorded in the MACed :class:`AuditChainHead` row; and
optional anchor lines written outside the database (``rapport audit anchor``) catch a
whole database rolled back to an older state. Database triggers refuse UPDATE and DELETE
on the events table; :func:`purge_expired` is the one path allowed to delete, and it
leaves a signed :class:`AuditCheckpoint` the verifier starts from.

Events carry ids and codes only. ``detail`` accepts only the keys in
:data:`DETAIL_KEYS`, with ``None``, booleans, integers, short single-token strings (no
spaces, so no prose) or lists of those strings: there is no room for a name, an answer
or a clinical note.
"""

from __future__ import annotations

import datetime
import hmac
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone

from rapport.core import hotpath
from rapport.core.snapshot import read_snapshot
from rapport.security import crypto
from rapport.security.models import (
    AuditChainHead,
    AuditCheckpoint,
    AuditEvent,
    AuditPurgePermit,
)
from rapport.security.network import client_ip
from rapport.security.private_files import open_private_for_append

GENESIS_MAC = "0" * 64
# Parallel chains an append may take. More than the concurrent appenders a deployment
# runs (gunicorn workers x threads, per app server) keeps appends from waiting.
# Kept in session 7 (#15): one chain serialised the submissions (BENCHMARKS.md).
LANES = 16
OUTCOMES = frozenset({"success", "failure", "denied", "error"})
DETAIL_KEYS = frozenset(
    {
        "attempted_username",
        "audience",
        "break_glass",
        "consent_kind",
        "consent_value",
        "count",
        "expires_at",
        "failures",
        "fields",
        "format",
        "from_key_ids",
        "instrument_id",
        "key_id",
        "language",
        "lockout_until",
        "method",
        "mfa_method",
        "path",
        "reason",
        "refusals_in_previous_window",
        "removed",
        "role",
        "rows",
        "scope",
        "status_code",
        "supervisor",
        "through_seq",
        "to_key_id",
        "via",
    }
)
_ACTION = re.compile(r"[a-z][a-z0-9_]*(\.[a-z0-9_]+)*")
# One token, no whitespace: codes, ids, paths, timestamps; never a sentence.
_DETAIL_TOKEN = re.compile(r"[\w.:/@+=,#-]{0,128}", re.ASCII)
_MAX_LIST = 50


class AuditChainError(RuntimeError):
    """The audit chain does not verify, so an operation that relies on it was refused."""


# --- writing ------------------------------------------------------------------------


def record(
    action: str,
    *,
    request: Any = None,
    user: Any = None,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    outcome: str = "success",
    detail: dict | None = None,
    reserved: LaneReservation | None = None,
) -> AuditEvent:
    """Append one event to the audit trail and return it.

    ``action`` is a dotted lower-case code (``auth.login``, ``client.view``). The actor is
    ``user``, else the request's authenticated user, else nobody (e.g. a failed login:
    pass ``detail={"attempted_username": ...}``). ``obj`` fills ``object_type`` (the
    model label) and ``object_id`` (its ``public_id``, else its primary key). Raises
    ``ValueError`` for a malformed action or outcome and for any detail outside the
    allow-list. Runs in the caller's transaction: if that rolls back, so does the event.
    ``reserved``: a lane locked earlier in this transaction (:func:`reserve_lane`).
    """
    if not _ACTION.fullmatch(action) or len(action) > 64:
        raise ValueError(f"audit action {action!r} must be a dotted lower-case code")
    if outcome not in OUTCOMES:
        raise ValueError(f"audit outcome {outcome!r} must be one of {sorted(OUTCOMES)}")
    clean = clean_detail(detail)
    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and request_user.is_authenticated:
            user = request_user
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "public_id", None) or obj.pk)
    key = crypto.audit_keyring().current
    # No savepoint: the caller's transaction (if any) rolls back as a whole on an error,
    # and the head row stays locked for as short a time as possible.
    with transaction.atomic(savepoint=False):
        claimed = reserved.claim() if reserved is not None else None
        head, event_id = claimed or _locked_head_and_event_id()
        event = AuditEvent(
            id=event_id,
            lane=head.pk,
            seq=head.last_seq + 1,
            occurred_at=timezone.now(),
            actor_id=user.pk if user is not None else None,
            actor_username=_printable(getattr(user, "username", "") or "", 150),
            actor_role=_role_of(user),
            ip_address=client_ip(request) or "",
            request_id=request_id_of(request),
            action=action,
            object_type=_printable(object_type, 64),
            object_id=_printable(object_id, 64),
            outcome=outcome,
            detail=clean,
            key_id=key.key_id,
            prev_mac=head.last_mac or head.start_mac or GENESIS_MAC,
        )
        event.mac = entry_mac(event, key)
        head.last_seq, head.last_mac = event.seq, event.mac
        _sign_head(head, key)
        _append(event, head)
    return event


class LaneReservation:
    """A lane's head locked ahead of the event, for a transaction with few round trips.

    :func:`reserve_lane` sends the lane's ``SELECT ... FOR UPDATE SKIP LOCKED`` without
    waiting for its answer, so in a psycopg pipeline it travels with the caller's own
    first reads; the caller then passes the reservation to :func:`record`, which reads
    the answer instead of asking. A reservation serves one event. If anything was
    appended on this connection in between (the head it read may be stale) or no lane
    was free, :func:`record` takes the usual path, which reads the head afresh.
    """

    def __init__(self) -> None:
        self._cursor: Any = None
        self._stack = ExitStack()
        self._claimed = False
        self._appends_at_reservation = _appends_on_this_connection()
        if connection.features.has_select_for_update_skip_locked:
            self._cursor = self._stack.enter_context(hotpath.cursor())
            self._cursor.execute(_LOCK_FREE_LANE, [LANES])

    def release(self) -> None:
        """Close the reservation's cursor (idempotent); the lane stays locked until the
        transaction ends, unclaimed."""
        self._stack.close()

    def claim(self) -> tuple[AuditChainHead, int | None] | None:
        """The reserved head and event id, once; None when there is nothing to claim."""
        if self._claimed:
            raise AuditChainError("a lane reservation serves one event only")
        self._claimed = True
        if self._cursor is None:
            return None
        try:
            with connection.wrap_database_errors:
                row = self._cursor.fetchone()
        finally:
            self._stack.close()
        if row is None or _appends_on_this_connection() != self._appends_at_reservation:
            return None
        head = AuditChainHead.from_db(connection.alias, [f.attname for f in _HEAD_FIELDS], row[1:])
        return head, row[0]


def _appends_on_this_connection() -> int:
    # Kept (#15): a reservation whose head went stale would fail its append on (lane, seq).
    return getattr(connection, "rapport_audit_appends", 0)


def reserve_lane() -> LaneReservation:
    """Lock a free lane now, for this transaction's first :func:`record` (see the class)."""
    return LaneReservation()


def clean_detail(detail: dict | None) -> dict:
    """``detail`` checked against the allow-list; raises ``ValueError`` otherwise."""
    if detail is None:
        return {}
    if not isinstance(detail, dict):
        raise ValueError("audit detail must be a dict")
    clean: dict[str, Any] = {}
    for key, value in detail.items():
        if key not in DETAIL_KEYS:
            allowed = ", ".join(sorted(DETAIL_KEYS))
            raise ValueError(f"audit detail key {key!r} is not allowed (allowed: {allowed})")
        clean[key] = _clean_detail_value(key, value)
    return clean


def _clean_detail_value(key: str, value: Any) -> Any:
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, str) and _DETAIL_TOKEN.fullmatch(value):
        return value
    if (
        isinstance(value, list | tuple)
        and len(value) <= _MAX_LIST
        and all(isinstance(item, str) and _DETAIL_TOKEN.fullmatch(item) for item in value)
    ):
        return list(value)
    raise ValueError(
        f"audit detail {key!r} must be None, a bool, an int, a single token of at most "
        f"128 characters without spaces, or a list of up to {_MAX_LIST} such tokens"
    )


def _printable(text: str, limit: int) -> str:
    # Control characters (CR, LF, ...) are escaped so that nothing read from a request can
    # forge a line in an exported or printed log.
    text = str(text)
    if text.isprintable():  # the usual case: nothing to escape
        return text[:limit]
    escaped = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return escaped[:limit]


def _role_of(user: Any) -> str:
    if user is None:
        return ""
    if getattr(user, "is_superuser", False):
        return "superuser"
    return str(getattr(user, "role", "") or "")


def request_id_of(request: Any) -> str:
    """The proxy's X-Request-ID (or one set on the request), when it is a plain token."""
    if request is None:
        return ""
    value = getattr(request, "request_id", "") or request.META.get("HTTP_X_REQUEST_ID", "")
    return value if isinstance(value, str) and _DETAIL_TOKEN.fullmatch(value[:64]) else ""


def _locked_head(lane: int = 1) -> AuditChainHead:
    """Lane ``lane``'s chain head, created if missing, locked until the transaction ends."""
    return _locked_lane(lane)[0]


def _locked_head_and_event_id() -> tuple[AuditChainHead, int | None]:
    """A free lane's chain head, created if missing, locked until the transaction ends.

    PostgreSQL: the lowest lane no other transaction holds (``FOR UPDATE SKIP LOCKED``;
    a lane this transaction already holds counts as free). When every existing lane is
    busy a new one is added, up to :data:`LANES`; beyond that the append waits for lane 1.
    Waiting only ever happens on lane 1 and never by a transaction holding lane 1, so
    appends cannot deadlock each other. SQLite: transactions are IMMEDIATE (settings), so
    writers are already serialised, and lane 1 is the only one.

    Every append runs this while holding a lane, so it is plain SQL, prepared once per
    connection (``rapport.core.hotpath``). On PostgreSQL the same statement draws the new
    event's id from its sequence, so the write that follows needs no reply: in a psycopg
    pipeline (the check-in submission) it travels with the COMMIT, and the lane is
    locked for one round trip. SQLite reports the id on insert instead (None here).
    """
    if not connection.features.has_select_for_update_skip_locked:
        return _locked_lane(1)
    found = _select_head_for_update(_LOCK_FREE_LANE, [LANES])
    if found is None:
        found = _added_lane()
    # Every lane busy (or none yet, in a new or freshly flushed database): wait for lane 1.
    return found or _locked_lane(1)


def _locked_lane(lane: int) -> tuple[AuditChainHead, int | None]:
    """Lane ``lane``'s head (created if missing) and an event id, locked (waiting if held)."""
    found = _select_head_for_update(_lock_lane(), [lane])
    if found is None:
        AuditChainHead.objects.bulk_create([AuditChainHead(id=lane)], ignore_conflicts=True)
        found = _select_head_for_update(_lock_lane(), [lane])
    if found is None:
        raise AuditChainError(f"the audit chain head row of lane {lane} could not be created")
    return found


def _added_lane() -> tuple[AuditChainHead, int | None] | None:
    """Insert the next lane (every existing one is busy) and return it, locked."""
    with hotpath.cursor() as cursor:
        cursor.execute(_ADD_LANE, [LANES])
        added = cursor.fetchone()
    if added is None:  # all lanes exist, or another append just added this one
        return None
    return _select_head_for_update(_lock_lane(), [added[0]])


# The statements of every append, written out once from the models' metadata.
_HEAD_FIELDS = AuditChainHead._meta.concrete_fields
_EVENT_FIELDS = AuditEvent._meta.concrete_fields
_EVENT_TABLE, _EVENT_PK = AuditEvent._meta.db_table, AuditEvent._meta.pk.column
_HEAD_COLUMNS = ", ".join(field.column for field in _HEAD_FIELDS)
_HEAD_TABLE = AuditChainHead._meta.db_table
# PostgreSQL locks a lane's head and draws the new event's id in the same statement (see
# _locked_head_and_event_id); SQLite's IMMEDIATE transactions already hold the write lock.
_NEXT_EVENT_ID = f"nextval(pg_get_serial_sequence('{_EVENT_TABLE}', '{_EVENT_PK}'))"
_LOCK_LANE = (
    f"SELECT {_NEXT_EVENT_ID}, {_HEAD_COLUMNS} FROM {_HEAD_TABLE} "  # noqa: S608
    "WHERE id = %s FOR UPDATE"
)
_LOCK_FREE_LANE = (
    f"SELECT {_NEXT_EVENT_ID}, {_HEAD_COLUMNS} FROM {_HEAD_TABLE} "  # noqa: S608
    "WHERE id <= %s ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_READ_LANE = f"SELECT {_HEAD_COLUMNS} FROM {_HEAD_TABLE} WHERE id = %s"  # noqa: S608


def _lock_lane() -> str:
    """The statement that reads one lane's head, locked, on this database."""
    return _LOCK_LANE if connection.vendor == "postgresql" else _READ_LANE


# A lane one above the highest existing one, while there are fewer than LANES.
_ADD_LANE = f"""
    INSERT INTO {_HEAD_TABLE} (id, first_seq, start_mac, last_seq, last_mac, key_id, mac)
    SELECT coalesce(max(id), 0) + 1, 1, '', 0, '', '', '' FROM {_HEAD_TABLE}
    HAVING coalesce(max(id), 0) < %s
    ON CONFLICT (id) DO NOTHING RETURNING id
"""  # noqa: S608
_UPDATE_HEAD_END = (
    f"UPDATE {AuditChainHead._meta.db_table} "  # noqa: S608
    "SET last_seq = %s, last_mac = %s, key_id = %s, mac = %s WHERE id = %s"
)


def _insert_event(fields) -> str:
    return "INSERT INTO {table} ({columns}) VALUES ({values})".format(  # noqa: S608
        table=_EVENT_TABLE,
        columns=", ".join(field.column for field in fields),
        values=", ".join(["%s"] * len(fields)),
    )


# PostgreSQL: one statement (a data-modifying WITH) writes the event, with the id drawn
# above, and the new end of the chain. SQLite: the event (its id assigned and returned),
# then the head.
_INSERT_EVENT_AND_UPDATE_HEAD = (
    f"WITH appended AS ({_insert_event(_EVENT_FIELDS)}) {_UPDATE_HEAD_END}"
)
_EVENT_FIELDS_BUT_PK = [field for field in _EVENT_FIELDS if not field.primary_key]
_INSERT_EVENT_RETURNING_PK = f"{_insert_event(_EVENT_FIELDS_BUT_PK)} RETURNING {_EVENT_PK}"


def _select_head_for_update(sql: str, params: list) -> tuple[AuditChainHead, int | None] | None:
    with hotpath.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    event_id, values = (row[0], row[1:]) if connection.vendor == "postgresql" else (None, row)
    head = AuditChainHead.from_db(connection.alias, [f.attname for f in _HEAD_FIELDS], values)
    return head, event_id


def _append(event: AuditEvent, head: AuditChainHead) -> None:
    """INSERT ``event`` and write the new end of the chain into the locked ``head``.

    The event's values are prepared by its fields as the ORM would (JSON, dates); the
    head's only changed columns are its end and its MAC.
    """
    head_values = [head.last_seq, head.last_mac, head.key_id, head.mac, head.pk]
    with hotpath.cursor() as cursor:
        if event.pk is not None:
            cursor.execute(
                _INSERT_EVENT_AND_UPDATE_HEAD, _db_values(event, _EVENT_FIELDS) + head_values
            )
        else:
            cursor.execute(_INSERT_EVENT_RETURNING_PK, _db_values(event, _EVENT_FIELDS_BUT_PK))
            event.pk = cursor.fetchone()[0]
            cursor.execute(_UPDATE_HEAD_END, head_values)
    event._state.adding = False
    event._state.db = connection.alias
    # Counted per connection (Django's connections are per thread) for LaneReservation.
    connection.rapport_audit_appends = _appends_on_this_connection() + 1


def _db_values(event: AuditEvent, fields) -> list:
    return [field.get_db_prep_save(field.pre_save(event, True), connection) for field in fields]


# --- MACs ---------------------------------------------------------------------------


def _canonical(payload: dict) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).isoformat(timespec="microseconds")


def entry_mac(event: AuditEvent, key: crypto.Key) -> str:
    payload = {
        "seq": event.seq,
        "occurred_at": _utc(event.occurred_at),
        "actor_id": event.actor_id,
        "actor_username": event.actor_username,
        "actor_role": event.actor_role,
        "ip_address": event.ip_address,
        "request_id": event.request_id,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "outcome": event.outcome,
        "detail": event.detail,
        "key_id": event.key_id,
        "prev_mac": event.prev_mac,
    }
    return crypto.mac(event.prev_mac.encode() + b"\n" + _canonical(payload), key)


def _head_mac(head: AuditChainHead, key: crypto.Key) -> str:
    payload = {
        "kind": "chain-head",
        "first_seq": head.first_seq,
        "start_mac": head.start_mac,
        "last_seq": head.last_seq,
        "last_mac": head.last_mac,
        "key_id": head.key_id,
    }
    return crypto.mac(_canonical(payload), key)


def _sign_head(head: AuditChainHead, key: crypto.Key) -> None:
    head.key_id = key.key_id
    head.mac = _head_mac(head, key)


def _checkpoint_mac(checkpoint: AuditCheckpoint, key: crypto.Key) -> str:
    payload = {
        "kind": "purge-checkpoint",
        "created_at": _utc(checkpoint.created_at),
        "through_seq": checkpoint.through_seq,
        "through_mac": checkpoint.through_mac,
        "removed": checkpoint.removed,
        "cutoff": _utc(checkpoint.cutoff),
        "key_id": checkpoint.key_id,
    }
    return crypto.mac(_canonical(payload), key)


def _anchor_mac(seq: int, entry_mac_value: str, key: crypto.Key, *, lane: int = 1) -> str:
    payload: dict[str, Any] = {"kind": "anchor", "seq": seq, "mac": entry_mac_value}
    if lane != 1:  # lane 1's anchors keep the form they had before there were lanes
        payload["lane"] = lane
    return crypto.mac(_canonical(payload), key)


def _mac_matches(expected: str, key_id: str, compute: Any) -> bool:
    key = crypto.audit_keyring().get(key_id)
    return key is not None and hmac.compare_digest(compute(key), expected)


# --- verifying ----------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"audit trail OK: {self.checked} entries verified"
        where = f" at entry #{self.first_bad_seq}" if self.first_bad_seq is not None else ""
        return f"audit trail FAILED{where}: {self.problem} ({self.checked} entries verified)"


def verify(anchor_file: Path | None = None) -> Verification:
    """Recompute every lane's chain; the result names the first bad entry, if any.

    The chain is read from one snapshot (:func:`rapport.core.snapshot.read_snapshot`), so
    entries that other processes append meanwhile are not seen half-way: read as
    separate statements, an entry committed between reading a lane's head and walking
    its entries looked like one "beyond the recorded end", and the worker's daily purge
    refused to run on a busy site. The anchors are read first: every anchor then names an
    entry in the snapshot.
    """
    anchors = _read_anchors(anchor_file)
    with read_snapshot():
        return _verify_snapshot(anchors)


def _verify_snapshot(anchors: dict[int, dict[int, str]]) -> Verification:
    heads = {head.pk: head for head in AuditChainHead.objects.order_by("pk")}
    lanes_with_events = set(AuditEvent.objects.order_by().values_list("lane", flat=True).distinct())
    checkpoints = list(AuditCheckpoint.objects.order_by("lane", "through_seq"))
    checked = 0
    for lane in sorted(set(heads) | lanes_with_events | set(anchors)):
        head = heads.get(lane)
        result = _verify_lane(
            lane,
            head,
            [c for c in checkpoints if c.lane == lane],
            anchors.get(lane, {}),
            has_events=lane in lanes_with_events,
        )
        checked += result.checked
        if not result.ok:
            return Verification(False, checked, result.first_bad_seq, result.problem)
    orphaned = sorted({c.lane for c in checkpoints} - set(heads))
    if orphaned:
        return Verification(False, checked, None, f"lane {orphaned[0]} has no chain head")
    return Verification(True, checked)


def _in_lane(lane: int, problem: str) -> str:
    # Lane 1 is the only one most installations ever use: name the others only.
    return problem if lane == 1 else f"{problem} (lane {lane})"


def _verify_lane(
    lane: int,
    head: AuditChainHead | None,
    checkpoints: list[AuditCheckpoint],
    anchors: dict[int, str],
    *,
    has_events: bool,
) -> Verification:
    if head is None:
        if has_events:
            first = AuditEvent.objects.filter(lane=lane).order_by("seq").first()
            missing = _in_lane(lane, "the chain head record is missing")
            return Verification(False, 0, first.seq if first else None, missing)
        if anchors:
            last = max(anchors)
            emptied = _in_lane(lane, f"the audit trail is empty but anchored up to #{last}")
            return Verification(False, 0, 1, emptied)
        return Verification(True, 0)
    head_is_fresh = head.last_seq == 0 and not head.mac
    if not head_is_fresh and not _mac_matches(head.mac, head.key_id, lambda k: _head_mac(head, k)):
        return Verification(False, 0, None, _in_lane(lane, "the chain head record was altered"))
    problem = _checkpoint_problem(head, checkpoints)
    if problem:
        return Verification(False, 0, None, _in_lane(lane, problem))
    beyond_end = [seq for seq in anchors if seq > head.last_seq]
    if beyond_end:
        rolled_back = _in_lane(lane, f"anchored entry #{max(beyond_end)} is missing (rolled back)")
        return Verification(False, 0, head.last_seq + 1, rolled_back)
    result = _walk(head, anchors)
    if result.ok:
        return result
    return Verification(False, result.checked, result.first_bad_seq, _in_lane(lane, result.problem))


def _walk(head: AuditChainHead, anchors: dict[int, str]) -> Verification:
    expected, prev, checked = head.first_seq, head.start_mac or GENESIS_MAC, 0
    events = AuditEvent.objects.filter(lane=head.pk).order_by("seq")
    for event in events.iterator(chunk_size=2000):
        if event.seq < expected:
            return Verification(False, checked, event.seq, "entry precedes the chain start")
        if event.seq > expected:
            return Verification(False, checked, expected, "entry is missing (deleted)")
        if event.prev_mac != prev:
            return Verification(
                False, checked, event.seq, "entry does not follow the previous entry (reordered)"
            )
        if not _mac_matches(event.mac, event.key_id, lambda key, e=event: entry_mac(e, key)):
            return Verification(False, checked, event.seq, "entry content or MAC was altered")
        if event.seq in anchors and anchors[event.seq] != event.mac:
            return Verification(False, checked, event.seq, "entry differs from its anchor")
        prev, expected, checked = event.mac, expected + 1, checked + 1
    if expected - 1 > head.last_seq:
        return Verification(False, checked, head.last_seq + 1, "entry beyond the recorded end")
    if expected - 1 < head.last_seq or (head.last_seq >= head.first_seq and prev != head.last_mac):
        missing = f"entries #{expected}..#{head.last_seq} are missing (truncated)"
        return Verification(False, checked, expected, missing)
    return Verification(True, checked)


def _checkpoint_problem(head: AuditChainHead, checkpoints: list[AuditCheckpoint]) -> str:
    for checkpoint in checkpoints:
        if not _mac_matches(
            checkpoint.mac, checkpoint.key_id, lambda key, c=checkpoint: _checkpoint_mac(c, key)
        ):
            return f"purge checkpoint through #{checkpoint.through_seq} was altered"
    if head.first_seq == 1:
        return "purge checkpoints exist but the chain starts at #1" if checkpoints else ""
    latest = checkpoints[-1] if checkpoints else None
    if latest is None or (latest.through_seq, latest.through_mac) != (
        head.first_seq - 1,
        head.start_mac,
    ):
        return f"the chain starts at #{head.first_seq} without a matching purge checkpoint"
    return ""


# --- anchors outside the database ---------------------------------------------------


def anchor_path() -> Path | None:
    value = getattr(settings, "AUDIT_ANCHOR_FILE", None)
    return Path(value) if value else None


def write_anchor(path: Path) -> list[dict]:
    """Append each lane's chain end (seq + MAC, MACed) to ``path``; returns the lines."""
    heads = [head for head in AuditChainHead.objects.order_by("pk") if head.last_seq > 0]
    if not heads:
        raise AuditChainError("the audit trail is empty; nothing to anchor")
    key = crypto.audit_keyring().current
    written_at = _utc(timezone.now())
    lines = []
    for head in heads:
        line = {"seq": head.last_seq, "mac": head.last_mac}
        if head.pk != 1:
            line["lane"] = head.pk
        line.update(
            written_at=written_at,
            key_id=key.key_id,
            anchor_mac=_anchor_mac(head.last_seq, head.last_mac, key, lane=head.pk),
        )
        lines.append(line)
    with open_private_for_append(path) as handle:
        handle.writelines(json.dumps(line, sort_keys=True) + "\n" for line in lines)
    return lines


def _read_anchors(path: Path | None) -> dict[int, dict[int, str]]:
    """Anchored entries by lane, then seq: ``{lane: {seq: mac}}``."""
    if path is None or not path.exists():
        return {}
    anchors: dict[int, dict[int, str]] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        line = json.loads(text)
        lane, seq, entry = int(line.get("lane", 1)), int(line["seq"]), str(line["mac"])
        key = crypto.audit_keyring().get(str(line.get("key_id", "")))
        if key is None or not hmac.compare_digest(
            _anchor_mac(seq, entry, key, lane=lane), str(line["anchor_mac"])
        ):
            raise AuditChainError(f"anchor line {number} of {path} does not authenticate")
        anchors.setdefault(lane, {})[seq] = entry
    return anchors


# --- retention ----------------------------------------------------------------------


@dataclass(frozen=True)
class Purge:
    removed: int
    through_seq: int | None  # lane 1's, the lane a quiet installation only ever uses
    cutoff: datetime.datetime
    through_by_lane: dict[int, int] = field(default_factory=dict)


def purge_expired(now: datetime.datetime | None = None) -> Purge:
    """Delete the oldest entries older than ``AUDIT_RETENTION_DAYS``, as one prefix per lane.

    Refuses unless the chain verifies first (a purge must not launder tampering). Only a
    prefix of each lane is removed, up to the entry before the first one that is still
    within retention, so nothing younger than the retention period is ever deleted. Each
    removed prefix is summarised in a signed :class:`AuditCheckpoint` and its lane's head
    is re-signed to start after it; the purge itself is then recorded as an event.
    """
    before = verify(anchor_path())
    if not before.ok:
        raise AuditChainError(f"refusing to purge: {before}")
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.AUDIT_RETENTION_DAYS)
    key = crypto.audit_keyring().current
    removed_total, through_by_lane = 0, {}
    with transaction.atomic():
        # Highest lane first: appends only ever wait for lane 1, so taking it last
        # cannot deadlock with them.
        lanes = AuditChainHead.objects.order_by("-pk").values_list("pk", flat=True)
        for lane in list(lanes):
            removed, through = _purge_lane(_locked_head(lane), cutoff, key)
            if removed:
                removed_total += removed
                through_by_lane[lane] = through
        if through_by_lane:
            detail = {"through_seq": through_by_lane.get(1), "removed": removed_total}
            record("audit.purge", detail=detail)
    return Purge(removed_total, through_by_lane.get(1), cutoff, through_by_lane)


def _purge_lane(head: AuditChainHead, cutoff: datetime.datetime, key: crypto.Key):
    """Remove the expired prefix of ``head``'s lane; (entries removed, last seq removed)."""
    events = AuditEvent.objects.filter(lane=head.pk)
    first_kept = (
        events.filter(occurred_at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
    )
    through = head.last_seq if first_kept is None else first_kept - 1
    if through < head.first_seq:
        return 0, None
    through_mac = events.get(seq=through).mac
    with _deletion_permitted():
        removed, _ = events.filter(seq__lte=through).delete()
    checkpoint = AuditCheckpoint(
        lane=head.pk,
        through_seq=through,
        through_mac=through_mac,
        removed=removed,
        cutoff=cutoff,
        key_id=key.key_id,
    )
    checkpoint.mac = _checkpoint_mac(checkpoint, key)
    checkpoint.save(force_insert=True)
    head.first_seq, head.start_mac = through + 1, through_mac
    _sign_head(head, key)
    head.save()
    return removed, through


@contextmanager
def _deletion_permitted() -> Iterator[None]:
    """Let the append-only triggers allow DELETE on events inside this transaction only.

    The triggers check for a row in ``security_auditpurgepermit``. The row is inserted and
    removed inside the caller's transaction, so no other connection ever sees it.
    """
    if not connection.in_atomic_block:
        raise AuditChainError("audit deletion must happen inside a transaction")
    permit = AuditPurgePermit.objects.create(nonce=secrets.token_hex(16))
    try:
        yield
    finally:
        AuditPurgePermit.objects.filter(pk=permit.pk).delete()
