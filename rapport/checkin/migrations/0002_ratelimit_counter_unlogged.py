"""Rate-limit counters live in an UNLOGGED table on PostgreSQL.

Every check-in request updates a counter row. In a logged table each of those one-row
transactions waits for a WAL flush (fsync) at commit, and the per-IP row stays locked
until then, so requests from one network queue behind each other's fsyncs. An unlogged
table writes no WAL: commits return at once and the row lock is held for microseconds.
The price is that PostgreSQL empties the table after a crash (not after a clean
restart) and does not copy it to standbys: limits then start again from zero for the
current minute, which is acceptable for counters that only live for a minute anyway.
SQLite has no such table kind; nothing changes there.
"""

from django.db import migrations


def set_logged(logged: bool):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            kind = "LOGGED" if logged else "UNLOGGED"
            schema_editor.execute(f"ALTER TABLE checkin_ratelimitcounter SET {kind}")

    return apply


class Migration(migrations.Migration):
    dependencies = [("checkin", "0001_initial")]

    operations = [migrations.RunPython(set_logged(False), set_logged(True))]
