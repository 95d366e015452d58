"""Backups that restore: a drill across engines, and files that are refused."""

from __future__ import annotations

import datetime
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from rapport.clinic.models import Client, ClientIdentity, Organisation
from rapport.operations import backups
from rapport.operations.models import BackupRun
from rapport.operations.readiness import check_backup
from rapport.operations.tests.conftest import CLIENT_EMAIL
from rapport.security import audit
from rapport.security.crypto import generate_key

BACKUP_KEY = generate_key()


@pytest.fixture(autouse=True)
def backup_key(monkeypatch):
    monkeypatch.setenv("RAPPORT_BACKUP_KEY", BACKUP_KEY)
    monkeypatch.delenv("RAPPORT_BACKUP_KEY_FILE", raising=False)


@pytest.fixture
def backup_file(due_invitation, tmp_path) -> Path:
    audit.record("worker.test", object_type="test", object_id="1")
    out = tmp_path / "clinic.backup"
    backups.create(out)
    return out


def _rapport(args: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.django_db(transaction=True)
def test_restore_drill_from_this_database_into_a_new_sqlite_installation(tmp_path):
    """The way back: this database (PostgreSQL in the PostgreSQL run) restores into a new
    SQLite installation, with its audit trail intact and its identities readable."""
    call_command("synth", seed=7, clients=6, therapists=2, org="drill", verbosity=0)
    backups.create(tmp_path / "here.backup")
    env = {k: v for k, v in os.environ.items() if k != "RAPPORT_DATABASE_URL"}
    env |= {"RAPPORT_DATA_DIR": str(tmp_path / "target"), "RAPPORT_BACKUP_KEY": BACKUP_KEY}
    _rapport(["migrate", "-v", "0"], env, tmp_path)
    _rapport(["backup", "restore", str(tmp_path / "here.backup")], env, tmp_path)
    # Exits non-zero (failing _rapport) unless every entry and MAC checks out.
    _rapport(["audit", "verify"], env, tmp_path)

    with sqlite3.connect(tmp_path / "target" / "rapport.sqlite3") as restored:
        (clients,) = restored.execute(
            "SELECT count(*) FROM clinic_client JOIN clinic_organisation o"
            " ON o.id = clinic_client.organisation_id WHERE o.slug = 'drill'"
        ).fetchone()
    assert clients == Client.objects.filter(organisation__slug="drill").count() == 6
    names = _rapport(
        [
            "shell",
            "-c",
            "from rapport.clinic.models import ClientIdentity as I; "
            "print(sorted(i.given_name for i in I.objects.all()))",
        ],
        env,
        tmp_path,
    )
    here = sorted(identity.given_name for identity in ClientIdentity.objects.all())
    assert names.strip().splitlines()[-1] == str(here)


@pytest.mark.django_db(transaction=True)
def test_restore_drill_from_a_sqlite_installation_into_this_database(tmp_path):
    """A synthetic SQLite clinic, backed up by the command, restores here (SQLite or PG)."""
    env = {k: v for k, v in os.environ.items() if k != "RAPPORT_DATABASE_URL"}
    env |= {"RAPPORT_DATA_DIR": str(tmp_path / "source"), "RAPPORT_BACKUP_KEY": BACKUP_KEY}
    _rapport(["migrate", "-v", "0"], env, tmp_path)
    _rapport(
        ["synth", "--seed", "7", "--clients", "6", "--therapists", "2", "--org", "drill"],
        env,
        tmp_path,
    )
    _rapport(["backup", "create", "--out", str(tmp_path / "drill.backup")], env, tmp_path)
    assert "authentic" in _rapport(
        ["backup", "verify", str(tmp_path / "drill.backup")], env, tmp_path
    )

    summary = backups.restore(tmp_path / "drill.backup")
    assert Client.objects.filter(organisation__slug="drill").count() == 6
    assert summary.counts["clinic.client"] == 6
    assert summary.counts["clinic.administration"] > 0
    assert audit.verify(None).ok
    # Encrypted identities decrypt with this installation's field keys.
    names = [identity.given_name for identity in ClientIdentity.objects.all()]
    assert len(names) == 6 and all(names)


@pytest.mark.django_db
def test_verify_reads_what_create_wrote_and_logs_the_backup(backup_file):
    summary = backups.verify(backup_file)
    assert summary.counts["clinic.clientidentity"] == 1
    assert summary.counts["security.auditevent"] >= 1
    assert backup_file.stat().st_mode & 0o777 == 0o600
    assert CLIENT_EMAIL.encode() not in backup_file.read_bytes()
    assert BackupRun.objects.count() == 1


@pytest.mark.django_db
def test_a_changed_byte_is_refused(backup_file):
    data = bytearray(backup_file.read_bytes())
    data[len(data) // 2] ^= 0x01
    backup_file.write_bytes(bytes(data))
    with pytest.raises(backups.BackupError, match="failed authentication"):
        backups.verify(backup_file)


@pytest.mark.django_db
def test_a_truncated_file_is_refused(backup_file):
    backup_file.write_bytes(backup_file.read_bytes()[:-100])
    with pytest.raises(backups.BackupError, match="failed authentication"):
        backups.verify(backup_file)
    backup_file.write_bytes(backup_file.read_bytes()[:10])
    with pytest.raises(backups.BackupError, match="not a Rapport backup"):
        backups.verify(backup_file)


@pytest.mark.django_db
def test_another_key_is_refused_by_name(backup_file, monkeypatch):
    monkeypatch.setenv("RAPPORT_BACKUP_KEY", generate_key())
    with pytest.raises(backups.BackupError, match="does not hold"):
        backups.verify(backup_file)


@pytest.mark.django_db
def test_restore_refuses_a_database_that_has_data(backup_file):
    with pytest.raises(CommandError, match="only goes into an empty database"):
        call_command("backup", "restore", str(backup_file))
    assert Organisation.objects.count() == 2  # nothing added


@pytest.mark.django_db
def test_create_never_overwrites_a_file(backup_file):
    with pytest.raises(CommandError, match="already exists"):
        call_command("backup", "create", "--out", str(backup_file))


@pytest.mark.django_db
def test_create_without_a_key_names_the_variable(db, tmp_path, monkeypatch):
    monkeypatch.delenv("RAPPORT_BACKUP_KEY")
    with pytest.raises(CommandError, match="RAPPORT_BACKUP_KEY"):
        call_command("backup", "create", "--out", str(tmp_path / "x.backup"))


@pytest.mark.django_db
def test_readiness_checks_the_last_backup_only_when_configured(client, settings):
    from rapport.operations.heartbeat import record_heartbeat

    record_heartbeat()
    settings.BACKUP_MAX_AGE_HOURS = 0
    assert client.get("/readyz").status_code == 200
    settings.BACKUP_MAX_AGE_HOURS = 24
    assert client.get("/readyz").json()["checks"]["backup"] == "failing"
    BackupRun.objects.create(created_at=timezone.now() - datetime.timedelta(hours=25), rows=1)
    assert not check_backup().ok
    BackupRun.objects.create(created_at=timezone.now() - datetime.timedelta(hours=1), rows=1)
    assert check_backup().ok
    assert client.get("/readyz").status_code == 200
