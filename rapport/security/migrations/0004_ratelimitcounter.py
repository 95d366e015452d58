"""The rate-limit counters move from the check-in app to security, for every limit.

The check-in pages and the API kept their own counters; both now count in this one
table (:mod:`rapport.security.ratelimit`). The check-in app's table is renamed, so it
stays UNLOGGED on PostgreSQL and keeps the current minute's counts; the API's table is
dropped by ``api.0002``.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("security", "0003_audit_lanes"),
        ("checkin", "0003_link_indexes_without_duplicates"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE checkin_ratelimitcounter RENAME TO security_ratelimitcounter",
                    "ALTER TABLE security_ratelimitcounter RENAME TO checkin_ratelimitcounter",
                )
            ],
            state_operations=[
                migrations.CreateModel(
                    name="RateLimitCounter",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("bucket", models.CharField(max_length=80)),
                        ("window_start", models.BigIntegerField()),
                        ("hits", models.PositiveIntegerField(default=0)),
                    ],
                    options={
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("bucket", "window_start"), name="rate_limit_window"
                            )
                        ],
                    },
                ),
            ],
        ),
    ]
