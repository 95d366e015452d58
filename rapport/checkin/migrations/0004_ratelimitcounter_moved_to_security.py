"""The rate-limit counter model now belongs to security (its table is renamed there)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("checkin", "0003_link_indexes_without_duplicates"),
        ("security", "0004_ratelimitcounter"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="RateLimitCounter")],
        ),
    ]
