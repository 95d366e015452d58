"""`audit.verify` on a live site: entries appended while it runs do not fail it.

Between reading a lane's head and walking its entries, another process appends: what
the worker's daily purge met on a busy site (bench/cluster_drill.py). Verification reads
one snapshot, so it checks the chain as it was when it started.
"""

import threading

import pytest
from django.db import connection, connections

from rapport.core.tests.test_snapshot import run_on_an_sqlite_file
from rapport.security import audit


def append_from_another_connection() -> None:
    try:
        audit.record("test.probe")  # this thread's own connection, committed at once
    finally:
        connections.close_all()


def verify_while_another_connection_appends() -> dict:
    """Record one entry, verify while another connection appends a second, verify again."""
    audit.record("test.probe")
    walk = audit._walk
    appended: list[bool] = []

    def walk_after_a_concurrent_append(head, anchors):
        if not appended:
            appender = threading.Thread(target=append_from_another_connection)
            appender.start()
            appender.join()
            appended.append(True)
        return walk(head, anchors)

    audit._walk = walk_after_a_concurrent_append
    try:
        during = audit.verify()
    finally:
        audit._walk = walk
    return {
        "ok": during.ok,
        "problem": during.problem,
        "checked": during.checked,
        "checked_after": audit.verify().checked,
    }


def check(outcome: dict) -> None:
    assert outcome["ok"], outcome["problem"]
    assert outcome["checked"] == 1  # the snapshot: the entry appended meanwhile is not in it
    assert outcome["checked_after"] == 2


@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_during_verification_is_not_beyond_the_end_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite case needs a database file (the next test)")
    check(verify_while_another_connection_appends())


@pytest.mark.database_independent  # its own SQLite file, as a small installation has
def test_an_entry_committed_during_verification_is_not_beyond_the_end_sqlite(tmp_path):
    check(
        run_on_an_sqlite_file(
            tmp_path,
            "rapport.security.tests.test_audit_snapshot",
            "verify_while_another_connection_appends",
        )
    )
