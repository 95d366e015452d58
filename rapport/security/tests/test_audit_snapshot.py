"""`audit.verify` on a live site: entries appended while it runs do not fail it.

Between reading a lane's head and walking its entries, another process appends: what
the worker's daily purge met on a busy site (bench/cluster_drill.py). Verification reads
one snapshot, so it checks the chain as it was when it started.
"""

import json
import subprocess
import sys
import threading

import pytest
from django.db import connection, connections

from rapport.core.tests.test_database_settings import settings_env
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
    appended = []

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
    # The test database is SQLite in memory, where connections share one cache and lock
    # tables instead of reading snapshots: the case needs the WAL file Rapport runs on.
    env = settings_env(tmp_path, DJANGO_SETTINGS_MODULE="rapport.settings")

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    migrated = run("-m", "rapport.cli", "migrate", "-v", "0")
    assert migrated.returncode == 0, migrated.stderr
    program = (
        "import json, django; django.setup(); "
        "from rapport.security.tests import test_audit_snapshot as t; "
        "print(json.dumps(t.verify_while_another_connection_appends()))"
    )
    result = run("-c", program)
    assert result.returncode == 0, result.stderr
    check(json.loads(result.stdout.strip().splitlines()[-1]))
