"""Check-in links keep one index per question asked of them.

Closing a link on submission updates a column of its (session, used_at, revoked_at)
index, so PostgreSQL writes a new entry into every index of the table. Two of them
served nothing: the foreign key's own index on ``session`` (the composite index starts
with it) and the ``varchar_pattern_ops`` copy that ``unique=True`` adds on PostgreSQL for
LIKE queries, which nothing runs on a hash. Uniqueness of the token hash now comes from
a constraint, created before the field's own unique index is dropped.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("checkin", "0002_ratelimit_counter_unlogged"),
        ("clinic", "0003_administration_session_uses_unique_index"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="checkinlink",
            constraint=models.UniqueConstraint(
                fields=("token_hash",), name="checkin_link_token_hash_unique"
            ),
        ),
        migrations.AlterField(
            model_name="checkinlink",
            name="token_hash",
            field=models.CharField(max_length=64),
        ),
        migrations.AlterField(
            model_name="checkinlink",
            name="session",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="checkin_links",
                to="clinic.session",
            ),
        ),
    ]
