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
