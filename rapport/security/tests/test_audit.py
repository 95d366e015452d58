"""The audit trail: recording, append-only triggers, tamper detection, purge, concurrency.

Tampering is done the way an attacker with database access would: raw SQL, after
switching the append-only triggers off inside the test's transaction.
"""

import datetime
import hmac
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import RequestFactory, override_settings

from rapport import cli
from rapport.security import audit, crypto
from rapport.security.models import AuditChainHead, AuditCheckpoint, AuditEvent
from rapport.testing import (
    make_episode,
    make_organisation,
    make_user,
    run_in_threads,
    transaction_open_elsewhere,
)

pytestmark = pytest.mark.django_db


@contextmanager
def triggers_off():
    """Disable the append-only triggers; restored by the test transaction's rollback."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            for table in ["security_auditevent", "security_auditchainhead"]:
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            for (name,) in cursor.fetchall():
                if name.startswith("security_"):
                    cursor.execute(f"DROP TRIGGER {name}")
    yield


def sql(statement, params=()):
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))


def record_five():
    return [audit.record("test.event", object_type="thing", object_id=str(i)) for i in range(5)]


def verify_exit(capsys):
    """Run `rapport audit verify`; return (exit code, stderr)."""
    try:
        cli.main(["audit", "verify", "--anchor-file", "/nonexistent/anchors"])
    except SystemExit as exit_:
        return exit_.code, capsys.readouterr().err
    return 0, capsys.readouterr().err


# --- recording ----------------------------------------------------------------------


def test_record_captures_who_what_where_without_names():
    user = make_user(make_organisation())
    client = make_episode(user).client
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_X_REQUEST_ID="req-1")
    request.user = user
    event = audit.record("client.view", request=request, obj=client, detail={"fields": ["name"]})
    assert (event.actor_id, event.actor_username, event.actor_role) == (
        user.pk,
        user.username,
        "therapist",
    )
    assert (event.ip_address, event.request_id) == ("203.0.113.9", "req-1")
    assert (event.object_type, event.object_id) == ("clinic.client", str(client.public_id))
    assert event.occurred_at.utcoffset() == datetime.timedelta(0)
    assert event.seq == 1 and event.prev_mac == audit.GENESIS_MAC


def test_failed_login_without_a_user():
    event = audit.record(
        "auth.login", outcome="failure", detail={"attempted_username": "nobody", "failures": 3}
    )
    assert event.actor_id is None and event.outcome == "failure"


@pytest.mark.parametrize(
    "detail",
    [
        {"diagnosis": "F32"},
        {"reason": "client said she feels hopeless"},
        {"reason": {"nested": 1}},
        {"fields": ["ok", "not ok"]},
        {"count": 1.5},
        "not a dict",
    ],
)
def test_detail_outside_the_allow_list_is_refused(detail):
    with pytest.raises(ValueError, match="audit detail"):
        audit.record("test.event", detail=detail)
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("action", ["", "Client View", "client.view\n", "x" * 65])
def test_malformed_action_is_refused(action):
    with pytest.raises(ValueError, match="action"):
        audit.record(action)


def test_bad_outcome_is_refused():
    with pytest.raises(ValueError, match="outcome"):
        audit.record("test.event", outcome="maybe")


def test_control_characters_are_escaped():
    event = audit.record("test.event", object_id="id\r\nforged line")
    assert "\n" not in event.object_id and "\\x0a" in event.object_id


# --- append-only at the database level ----------------------------------------------


def test_update_refused_by_the_database():
    record_five()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("UPDATE security_auditevent SET outcome = 'failure' WHERE seq = 2")


def test_delete_refused_by_the_database():
    record_five()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM security_auditevent WHERE seq = 2")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.count() == 5


def test_chain_head_cannot_be_deleted():
    record_five()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM security_auditchainhead")


# --- tamper detection ---------------------------------------------------------------


def test_untouched_chain_verifies(capsys):
    record_five()
    result = audit.verify()
    assert result.ok and result.checked == 5
    assert verify_exit(capsys)[0] == 0


def test_edited_entry_is_caught(capsys):
    record_five()
    with triggers_off():
        sql("UPDATE security_auditevent SET object_id = 'other' WHERE seq = 3")
    code, err = verify_exit(capsys)
    assert code == 1 and "entry #3" in err and "altered" in err


def test_deleted_entry_is_caught(capsys):
    record_five()
    with triggers_off():
        sql("DELETE FROM security_auditevent WHERE seq = 3")
    code, err = verify_exit(capsys)
    assert code == 1 and "entry #3" in err and "missing" in err


def test_reordered_entries_are_caught(capsys):
    record_five()
    with triggers_off():
        sql("UPDATE security_auditevent SET seq = 1000 WHERE seq = 3")
        sql("UPDATE security_auditevent SET seq = 3 WHERE seq = 4")
        sql("UPDATE security_auditevent SET seq = 4 WHERE seq = 1000")
    code, err = verify_exit(capsys)
    assert code == 1 and "entry #3" in err and "reordered" in err


def test_truncated_tail_is_caught(capsys):
    record_five()
    with triggers_off():
        sql("DELETE FROM security_auditevent WHERE seq >= 4")
    code, err = verify_exit(capsys)
    assert code == 1 and "entry #4" in err and "truncated" in err


def test_forged_hmac_is_caught(capsys):
    events = record_five()
    forged = events[2]
    forged.outcome = "denied"
    attacker_key = crypto.parse_key(crypto.generate_key(), source="attacker")
    forged_mac = audit.entry_mac(forged, crypto.Key(forged.key_id, attacker_key.secret))
    with triggers_off():
        sql(
            "UPDATE security_auditevent SET outcome = 'denied', mac = %s WHERE seq = 3",
            [forged_mac],
        )
    code, err = verify_exit(capsys)
    assert code == 1 and "entry #3" in err


def test_rewriting_the_whole_tail_with_an_unkeyed_hash_is_caught():
    # An attacker who recomputes every later MAC still cannot produce keyed MACs.
    events = record_five()
    with triggers_off():
        for event in events[2:]:
            fake = hmac.new(b"guess", event.mac.encode(), "sha256").hexdigest()
            sql("UPDATE security_auditevent SET mac = %s WHERE seq = %s", [fake, event.seq])
    result = audit.verify()
    assert not result.ok and result.first_bad_seq == 3


def test_altered_chain_head_is_caught():
    record_five()
    with triggers_off():
        sql("DELETE FROM security_auditevent WHERE seq = 5")
        sql("UPDATE security_auditchainhead SET last_seq = 4")
    result = audit.verify()
    assert not result.ok and "head" in result.problem


def test_deleting_everything_including_the_head_is_caught_by_an_anchor(tmp_path):
    record_five()
    anchors = tmp_path / "anchors.jsonl"
    audit.write_anchor(anchors)
    assert audit.verify(anchors).ok
    with triggers_off():
        sql("DELETE FROM security_auditevent")
        sql("DELETE FROM security_auditchainhead")
    result = audit.verify(anchors)
    assert not result.ok and "anchored" in result.problem


def test_forged_anchor_line_is_refused(tmp_path):
    record_five()
    anchors = tmp_path / "anchors.jsonl"
    audit.write_anchor(anchors)
    anchors.write_text(anchors.read_text().replace('"seq": 5', '"seq": 9'))
    with pytest.raises(audit.AuditChainError, match="does not authenticate"):
        audit.verify(anchors)


# --- retention ----------------------------------------------------------------------


@override_settings(AUDIT_RETENTION_DAYS=30)
def test_purge_removes_only_expired_prefix_and_chain_still_verifies():
    record_five()
    # Backdate entries 1-3 and re-sign them as the application would have written them.
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=40)
    key = crypto.audit_keyring().current
    prev = audit.GENESIS_MAC
    with triggers_off():
        for event in AuditEvent.objects.order_by("seq"):
            if event.seq <= 3:
                event.occurred_at = old
            event.prev_mac = prev
            event.mac = audit.entry_mac(event, key)
            sql(
                "UPDATE security_auditevent SET occurred_at = %s, prev_mac = %s, mac = %s "
                "WHERE seq = %s",
                [event.occurred_at, event.prev_mac, event.mac, event.seq],
            )
            prev = event.mac
        head = AuditChainHead.objects.get()
        head.last_mac = prev
        audit._sign_head(head, key)
        head.save()
    assert audit.verify().ok
    result = audit.purge_expired()
    assert (result.removed, result.through_seq) == (3, 3)
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == [4, 5, 6]
    assert AuditEvent.objects.get(seq=6).action == "audit.purge"
    assert AuditCheckpoint.objects.get().through_seq == 3
    assert audit.verify().ok
    assert audit.purge_expired().removed == 0


@override_settings(AUDIT_RETENTION_DAYS=30)
def test_purge_never_removes_recent_entries():
    record_five()
    assert audit.purge_expired().removed == 0
    assert AuditEvent.objects.filter(action="test.event").count() == 5


def test_purge_refuses_a_chain_that_does_not_verify():
    record_five()
    with triggers_off():
        sql("UPDATE security_auditevent SET object_id = 'x' WHERE seq = 2")
    with pytest.raises(audit.AuditChainError, match="refusing to purge"):
        audit.purge_expired()


def test_a_forged_purge_checkpoint_is_caught():
    record_five()
    with triggers_off():
        sql("DELETE FROM security_auditevent WHERE seq <= 2")
        sql(
            "INSERT INTO security_auditcheckpoint "
            "(created_at, through_seq, through_mac, removed, cutoff, key_id, mac) "
            "VALUES (%s, 2, 'x', 2, %s, 'k', 'forged')",
            [datetime.datetime.now(datetime.UTC)] * 2,
        )
    result = audit.verify()
    assert not result.ok and "checkpoint" in result.problem


def test_deleting_outside_the_purge_path_stays_refused_after_a_purge():
    record_five()
    audit.purge_expired()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        sql("DELETE FROM security_auditevent")


# --- concurrency --------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_never_fork_the_chain():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises writers with IMMEDIATE transactions; threads test PG")
    threads, per_thread = 8, 125

    def append():
        for i in range(per_thread):
            audit.record("test.concurrent", object_id=str(i))

    errors = run_in_threads(append, threads)
    assert errors == []
    lanes = {}
    for lane, seq in AuditEvent.objects.order_by("lane", "seq").values_list("lane", "seq"):
        lanes.setdefault(lane, []).append(seq)
    # Each lane is one unbroken chain, and together they hold every append.
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in lanes.values())
    assert sum(len(seqs) for seqs in lanes.values()) == threads * per_thread
    # Appenders did not all queue on one row: busy lanes were passed over.
    assert len(lanes) > 1
    result = audit.verify()
    assert result.ok and result.checked == threads * per_thread


def lane_one_held_elsewhere():
    """Another connection appends and keeps its transaction (and lane 1) open meanwhile."""
    return transaction_open_elsewhere(lambda: audit.record("test.holder"))


def postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("lanes beyond the first need SKIP LOCKED (PostgreSQL)")


@pytest.mark.django_db(transaction=True)
def test_an_append_takes_a_free_lane_instead_of_waiting():
    postgresql_only()
    audit.record("test.first")  # lane 1 exists and is free again
    with lane_one_held_elsewhere():
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '2s'")  # waiting for lane 1 would fail
        event = audit.record("test.while_lane_one_is_busy")
    assert (event.lane, event.seq, event.prev_mac) == (2, 1, audit.GENESIS_MAC)
    assert AuditEvent.objects.get(action="test.holder").lane == 1
    result = audit.verify()
    assert result.ok and result.checked == 3


@pytest.mark.django_db(transaction=True)
def test_tampering_in_another_lane_is_caught_and_named():
    postgresql_only()
    audit.record("test.first")
    with lane_one_held_elsewhere():
        audit.record("test.second_lane", object_id="a")
    with transaction.atomic(), triggers_off():
        sql("UPDATE security_auditevent SET object_id = 'b' WHERE lane = 2 AND seq = 1")
        result = audit.verify()
        transaction.set_rollback(True)
    assert not result.ok and result.first_bad_seq == 1 and "(lane 2)" in result.problem


@pytest.mark.django_db(transaction=True)
def test_anchors_cover_every_lane(tmp_path):
    postgresql_only()
    audit.record("test.first")
    with lane_one_held_elsewhere():
        audit.record("test.second_lane")
    anchors = tmp_path / "anchors.jsonl"
    lines = audit.write_anchor(anchors)
    assert [(line.get("lane", 1), line["seq"]) for line in lines] == [(1, 2), (2, 1)]
    assert audit.verify(anchors).ok
    with transaction.atomic(), triggers_off():
        # Lane 2 emptied and its head reset to fresh: only the anchor remembers it.
        sql("DELETE FROM security_auditevent WHERE lane = 2")
        sql("UPDATE security_auditchainhead SET last_seq = 0, last_mac = '', mac = '' WHERE id = 2")
        result = audit.verify(anchors)
        transaction.set_rollback(True)
    assert not result.ok and "anchored entry #1" in result.problem and "lane 2" in result.problem


# --- lane reservations ----------------------------------------------------------------


def test_a_reserved_lane_records_the_next_event_in_order():
    audit.record("test.before")
    with transaction.atomic():
        reservation = audit.reserve_lane()
        event = audit.record("test.reserved", reserved=reservation)
    assert (event.lane, event.seq) == (1, 2)
    assert audit.verify().ok


def test_a_reservation_read_before_another_append_is_not_used_stale():
    # The reservation read lane 1's head; an append in between moves that head on.
    with transaction.atomic():
        reservation = audit.reserve_lane()
        audit.record("test.in_between")
        event = audit.record("test.reserved", reserved=reservation)
    assert list(AuditEvent.objects.values_list("seq", "action")) == [
        (1, "test.in_between"),
        (2, "test.reserved"),
    ]
    assert event.seq == 2 and audit.verify().ok


def test_a_reservation_serves_one_event_only():
    with transaction.atomic():
        reservation = audit.reserve_lane()
        audit.record("test.reserved", reserved=reservation)
        with pytest.raises(audit.AuditChainError, match="one event"):
            audit.record("test.again", reserved=reservation)
