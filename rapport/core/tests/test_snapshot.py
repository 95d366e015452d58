"""`read_snapshot`: long reads see one moment of the database and hold up no writer."""

import json
import subprocess
import sys
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from rapport.core.snapshot import read_snapshot
from rapport.core.tests.test_database_settings import settings_env
from rapport.operations.models import BackupRun

# A writer held up by the reader would wait for the database's busy timeout (20 s).
WRITER_SECONDS = 5


def write_from_another_connection(done: list[bool]) -> None:
    try:
        BackupRun.objects.create(created_at=timezone.now(), rows=1)
        done.append(True)
    finally:
        connections.close_all()


def read_while_another_connection_writes() -> dict:
    """Count rows inside a snapshot before and after another connection commits one."""
    BackupRun.objects.create(created_at=timezone.now(), rows=1)
    done: list[bool] = []
    with read_snapshot():
        before = BackupRun.objects.count()
        writer = threading.Thread(target=write_from_another_connection, args=(done,))
        writer.start()
        writer.join(WRITER_SECONDS)
        written_meanwhile = bool(done)
        during = BackupRun.objects.count()
    writer.join()
    return {
        "before": before,
        "during": during,
        "after": BackupRun.objects.count(),
        "written_meanwhile": written_meanwhile,
    }


def check(outcome: dict) -> None:
    assert outcome["written_meanwhile"], "the writer waited for the reader"
    assert outcome["before"] == outcome["during"] == 1  # one moment, whatever was committed
    assert outcome["after"] == 2


@pytest.mark.django_db(transaction=True)
def test_a_snapshot_on_postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite case needs a database file (the next test)")
    check(read_while_another_connection_writes())


@pytest.mark.database_independent  # its own SQLite file, as a small installation has
def test_a_snapshot_on_an_sqlite_file(tmp_path):
    # The test database is SQLite in memory, where connections share one cache and lock
    # tables instead of reading snapshots: the case needs the WAL file Rapport runs on.
    result = run_on_an_sqlite_file(
        tmp_path, "rapport.core.tests.test_snapshot", "read_while_another_connection_writes"
    )
    check(result)


def run_on_an_sqlite_file(tmp_path, module: str, function: str) -> dict:
    """Migrate a fresh SQLite data folder with Rapport's own settings and print
    ``module.function()`` as JSON there; returns what it printed."""
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
        f"from {module} import {function}; "
        f"print(json.dumps({function}()))"
    )
    result = run("-c", program)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
