"""Fixtures shared by every app's tests."""

from __future__ import annotations

import importlib

import pytest

pytest_plugins = ["rapport.browser_testing"]

_TRIGGERS = importlib.import_module("rapport.security.migrations.0002_audit_append_only_triggers")
_AUDIT_TABLES = ("security_auditevent", "security_auditcheckpoint", "security_auditchainhead")


@pytest.fixture(autouse=True)
def _empty_audit_tables_before_flush(request):
    """Let transactional tests (live server, threads) clean up on SQLite.

    Such tests end with a flush that DELETEs every row, which the append-only triggers
    refuse on SQLite (PostgreSQL flushes with TRUNCATE, which row triggers do not see).
    After the test, and only in the test database, this empties the audit tables with the
    triggers briefly dropped and then puts the triggers back, so the flush finds nothing
    to refuse and every later test still runs against the real triggers.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = bool(
        {"transactional_db", "live_server"} & set(request.fixturenames)
        or (marker and marker.kwargs.get("transaction"))
    )
    if not transactional:
        yield
        return
    request.getfixturevalue("transactional_db")
    yield
    from django.db import connection

    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for statement in _TRIGGERS.SQLITE_DROP:
            cursor.execute(statement)
        for table in _AUDIT_TABLES:
            cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names
        for statement in _TRIGGERS.SQLITE_CREATE:
            cursor.execute(statement)
