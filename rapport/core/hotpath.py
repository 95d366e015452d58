"""A cursor for the few statements that run on every check-in, prepared once per connection.

Django's PostgreSQL cursors bind parameters on the client: every statement is sent as
text with its values quoted in, so PostgreSQL parses and plans it again each time, and
psycopg quotes every value in Python. For the statements of the check-in submission
(and the rate limit and audit append that come with it) that repeated work cost more
than executing them: planning the link lookup's four-table join alone took longer than
running it. :func:`cursor` gives those code paths a server-side-binding psycopg cursor
on Django's own connection (same transaction, same pipeline) that prepares each
statement on its first use per connection and then only binds values.

Elsewhere (SQLite) it is Django's cursor. Database errors are translated into Django's
exceptions either way, so callers catch ``django.db.IntegrityError`` as usual.

Prepared statements live on a connection: behind a pooler in transaction mode (which
hands a client a different server connection per transaction) set
``RAPPORT_DB_PREPARED_STATEMENTS=0`` to turn them off.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper


class _PreparedCursor:
    """psycopg's server-side-binding cursor, asking for preparation on every execute."""

    def __init__(self, raw_connection: Any) -> None:
        self._cursor = psycopg.Cursor(raw_connection)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(sql, params, prepare=True)

    def fetchone(self) -> tuple | None:
        return self._cursor.fetchone()

    def fetchall(self) -> list[tuple]:
        return self._cursor.fetchall()

    def close(self) -> None:
        self._cursor.close()


def _uses_prepared_statements(db: BaseDatabaseWrapper) -> bool:
    return db.vendor == "postgresql" and getattr(settings, "DB_PREPARED_STATEMENTS", True)


@contextmanager
def cursor() -> Iterator[Any]:
    """A cursor on the default connection for a hot path's fixed SQL (see module doc)."""
    # The connection looked up once: each use of django.db.connection is a lookup too.
    db = connections[DEFAULT_DB_ALIAS]
    if not _uses_prepared_statements(db):
        with db.cursor() as django_cursor:
            yield django_cursor
        return
    db.ensure_connection()
    with db.wrap_database_errors:
        prepared = _PreparedCursor(db.connection)
        try:
            yield prepared
        finally:
            prepared.close()
