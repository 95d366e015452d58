"""One consistent view of the database for long reads that must not hold up writers.

The audit chain's verification and backups read many rows with many statements; read
in autocommit, a row committed between two statements makes them disagree (a chain entry
"beyond the recorded end", a backup whose rows point at rows it lacks).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Let the queries inside see the database as of one moment, without holding up
    writers.

    PostgreSQL: a REPEATABLE READ, READ ONLY transaction. SQLite: a DEFERRED transaction,
    begun by hand: in WAL mode its first read fixes the snapshot and it takes no write
    lock, whereas Django's transactions here begin IMMEDIATE (the write lock up front,
    rapport.settings), which would hold up every check-in while the reads run. Inside a
    transaction the caller has opened, that transaction decides (only the outermost one
    can choose its isolation).
    """
    if connection.in_atomic_block or connection.vendor not in ("postgresql", "sqlite"):
        yield
    elif connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield
    else:
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")  # nothing was written: only the snapshot ends
