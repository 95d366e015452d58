import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from rapport.security.crypto import generate_key


def settings_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DJANGO_"))}
    env |= {
        "RAPPORT_DATA_DIR": str(tmp_path / "var"),
        "RAPPORT_SECRET_KEY": "s" * 50,
        "RAPPORT_FIELD_KEYS": generate_key(),
        "RAPPORT_AUDIT_KEY": generate_key(),
    }
    return env | extra


@pytest.mark.database_independent  # its own SQLite data folder
def test_default_database_is_an_sqlite_file_in_wal_mode(tmp_path):
    env = settings_env(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "migrate", "-v", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    database = tmp_path / "var" / "rapport.sqlite3"
    # WAL is a property of the file: a fresh connection without Rapport's settings sees it.
    with sqlite3.connect(database) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.django_db
def test_sqlite_connections_commit_durably():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite pragmas only apply to the SQLite run")
    with connection.cursor() as cursor:
        # 2 = FULL: a committed transaction survives power loss, not only a crash.
        assert cursor.execute("PRAGMA synchronous").fetchone()[0] == 2


def test_an_unusable_database_url_is_a_clear_configuration_error(tmp_path):
    env = settings_env(tmp_path, RAPPORT_DATABASE_URL="nosuchdb://nowhere")
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "RAPPORT_DATABASE_URL is not a usable database URL" in result.stderr


def database_settings(tmp_path: Path, **extra: str) -> dict:
    """The default database's settings as `rapport` would read them from ``extra``."""
    program = (
        "import json, django; from django.conf import settings; django.setup(); "
        "db = settings.DATABASES['default']; "
        "print(json.dumps({'prepared': settings.DB_PREPARED_STATEMENTS, "
        "'options': db.get('OPTIONS', {}), "
        "'server_side_cursors_off': db.get('DISABLE_SERVER_SIDE_CURSORS', False)}))"
    )
    env = settings_env(tmp_path, DJANGO_SETTINGS_MODULE="rapport.settings", **extra)
    result = subprocess.run(
        [sys.executable, "-c", program],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


POSTGRES_URL = "postgres://rapport@db.example:5432/rapport"


def test_behind_pgbouncer_nothing_outlives_a_transaction(tmp_path):
    direct = database_settings(tmp_path, RAPPORT_DATABASE_URL=POSTGRES_URL)
    pooled = database_settings(
        tmp_path, RAPPORT_DATABASE_URL=POSTGRES_URL, RAPPORT_DATABASE_POOLER="pgbouncer"
    )

    assert (direct["prepared"], direct["options"]["prepare_threshold"]) == (True, 5)
    assert direct["server_side_cursors_off"] is False
    # Transaction mode: the next transaction may run on another server connection, where
    # a prepared statement or an open named cursor does not exist.
    assert (pooled["prepared"], pooled["options"]["prepare_threshold"]) == (False, None)
    assert pooled["server_side_cursors_off"] is True


def test_prepared_statements_stay_on_behind_a_pooler_that_tracks_them(tmp_path):
    pooled = database_settings(
        tmp_path,
        RAPPORT_DATABASE_URL=POSTGRES_URL,
        RAPPORT_DATABASE_POOLER="pgbouncer",
        RAPPORT_DB_PREPARED_STATEMENTS="1",
    )
    assert (pooled["prepared"], pooled["options"]["prepare_threshold"]) == (True, 5)
    assert pooled["server_side_cursors_off"] is True


def test_an_unknown_pooler_is_a_clear_configuration_error(tmp_path):
    env = settings_env(tmp_path, RAPPORT_DATABASE_POOLER="pgpool")
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", "check"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert "RAPPORT_DATABASE_POOLER='pgpool' is not known" in result.stderr
