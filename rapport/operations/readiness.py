"""Readiness checks shared by /readyz and ``rapport status``.

Each check says whether this instance can serve and keep its promises: the database
answers, every migration is applied, the encryption and audit keys load, and a worker
has beaten recently (otherwise no invitation, reminder or safety notice goes out), and,
when ``RAPPORT_BACKUP_MAX_AGE_HOURS`` is set, that the last backup is recent. The
``detail`` is for an operator's terminal; the public /readyz shows names and verdicts only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from rapport.env import ConfigurationError
from rapport.operations.heartbeat import latest_heartbeat
from rapport.operations.models import BackupRun
from rapport.security import crypto


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def check_database() -> Check:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        return Check("database", False, f"not reachable ({type(error).__name__})")
    return Check("database", True, f"{connection.vendor} reachable")


def check_migrations() -> Check:
    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        return Check("migrations", False, f"{len(pending)} not applied: run `rapport migrate`")
    return Check("migrations", True, "all applied")


def check_keys() -> Check:
    try:
        crypto.self_check(crypto.field_keyring())
        crypto.audit_keyring()
    except (ConfigurationError, crypto.DecryptionError) as error:
        # The error names the variable or file at fault, never a key.
        return Check("keys", False, str(error))
    return Check("keys", True, "field-encryption and audit keys load")


def check_worker(now: datetime.datetime | None = None) -> Check:
    now = now or timezone.now()
    beat_at = latest_heartbeat()
    if beat_at is None:
        return Check("worker", False, "no worker has run: start `rapport worker`")
    age = now - beat_at
    limit = datetime.timedelta(minutes=settings.WORKER_HEARTBEAT_MAX_AGE_MINUTES)
    seconds = int(age.total_seconds())
    if age > limit:
        return Check("worker", False, f"last heartbeat {seconds} s ago (limit {limit})")
    return Check("worker", True, f"last heartbeat {seconds} s ago")


def check_backup(now: datetime.datetime | None = None) -> Check:
    """Only when RAPPORT_BACKUP_MAX_AGE_HOURS is set: the last backup is recent enough."""
    now = now or timezone.now()
    latest = BackupRun.objects.order_by("-created_at").first()
    if latest is None:
        return Check("backup", False, "no backup yet: run `rapport backup create --out FILE`")
    limit = datetime.timedelta(hours=settings.BACKUP_MAX_AGE_HOURS)
    hours = (now - latest.created_at).total_seconds() / 3600
    if now - latest.created_at > limit:
        return Check("backup", False, f"last backup {hours:.1f} h ago (limit {limit})")
    return Check("backup", True, f"last backup {hours:.1f} h ago")


def readiness_checks() -> list[Check]:
    """Run every check; the database ones are skipped once the database is unreachable."""
    database = check_database()
    if not database.ok:
        return [database, check_keys()]
    checks = [database, check_migrations(), check_keys(), check_worker()]
    if settings.BACKUP_MAX_AGE_HOURS:
        checks.append(check_backup())
    return checks
