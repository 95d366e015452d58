"""An administration's session needs no index of its own.

The unique (session, instrument_id) constraint's index already starts with the session,
so it serves every lookup by session (the check-in, the client timeline, cascades). The
foreign key's separate index only cost an extra entry on every stored score: completing
a questionnaire changes its status, an indexed column, so PostgreSQL writes a new entry
into each of the table's indexes.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("clinic", "0002_encrypt_identity_consent")]

    operations = [
        migrations.AlterField(
            model_name="administration",
            name="session",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="administrations",
                to="clinic.session",
            ),
        ),
    ]
