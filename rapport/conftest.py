"""Fixtures shared by every app's tests."""

from __future__ import annotations

import importlib
import time

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


# Enough of a rate-limit window left for a test's handful of requests, even on a slow
# machine; a test that starts later waits for the next window.
WINDOW_SECONDS_NEEDED = 10


@pytest.fixture
def one_rate_limit_window():
    """For tests that count requests against a per-minute limit in real time: start them
    early in a window, so that their requests do not straddle two of
    :mod:`rapport.security.ratelimit`'s fixed one-minute windows (a request in the next
    window starts a fresh count and the expected refusal never comes)."""
    from rapport.security.ratelimit import seconds_left

    left = seconds_left(time.time())
    if left < WINDOW_SECONDS_NEEDED:
        time.sleep(left + 0.05)
