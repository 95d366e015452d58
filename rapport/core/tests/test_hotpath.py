"""rapport.core.hotpath: prepared statements on Django's own connection and transaction."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import override_settings

from rapport.core import hotpath

pytestmark = pytest.mark.django_db

# Statements no other code runs (the marker makes each text unique), so the checks of
# the connection's prepared statements see only them.
PROBE = "SELECT count(*) FROM django_migrations WHERE app = %s AND name <> '{marker}'"


def prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


def run_probe(marker: str) -> int:
    with hotpath.cursor() as cursor:
        cursor.execute(PROBE.format(marker=marker), ["no-such-app"])
        return cursor.fetchone()[0]


def test_the_statement_runs_in_the_callers_transaction():
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) "
                "VALUES ('hotpath', 'only-in-this-transaction', CURRENT_TIMESTAMP)"
            )
        with hotpath.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = %s", ["hotpath"])
            assert cursor.fetchone() == (1,)
        transaction.set_rollback(True)


def test_database_errors_are_djangos():
    with pytest.raises(IntegrityError), transaction.atomic(), hotpath.cursor() as cursor:
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, NULL)", ["x", "y"]
        )


def test_postgresql_prepares_the_statement_once_and_reuses_it():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server-side prepared statements")
    for _ in range(3):
        assert run_probe("hotpath-probe-on") == 0

    assert len([s for s in prepared_statements() if "hotpath-probe-on" in s]) == 1


def test_prepared_statements_can_be_turned_off_for_a_transaction_pooler():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server-side prepared statements")
    with override_settings(DB_PREPARED_STATEMENTS=False):
        for _ in range(8):
            assert run_probe("hotpath-probe-off") == 0

    assert [s for s in prepared_statements() if "hotpath-probe-off" in s] == []
