"""Parallel audit chains ("lanes"): events and purge checkpoints record their lane.

Every existing entry and checkpoint is in lane 1, where the single chain was, and keeps
its MAC: the MAC formulas did not change. On SQLite, altering the events table's unique
constraint rebuilds the table, which drops its triggers, so they are installed again
(with the SQL that migration 0002 froze).
"""

import importlib

from django.db import migrations, models

triggers = importlib.import_module("rapport.security.migrations.0002_audit_append_only_triggers")


def reinstall_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        create, drop = triggers.STATEMENTS["sqlite"]
        for statement in [*drop, *create]:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("security", "0002_audit_append_only_triggers")]

    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="lane",
            field=models.PositiveSmallIntegerField(
                default=1, db_default=1, help_text="Which of the parallel chains holds the entry."
            ),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.PositiveBigIntegerField(help_text="Position in its lane's chain."),
        ),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("lane", "seq"), name="audit_event_lane_seq"
            ),
        ),
        migrations.AlterModelOptions(name="auditevent", options={"ordering": ["id"]}),
        migrations.AddField(
            model_name="auditcheckpoint",
            name="lane",
            field=models.PositiveSmallIntegerField(default=1, db_default=1),
        ),
        migrations.AlterModelOptions(
            name="auditcheckpoint", options={"ordering": ["lane", "through_seq"]}
        ),
        migrations.RunPython(reinstall_sqlite_triggers, migrations.RunPython.noop),
    ]
