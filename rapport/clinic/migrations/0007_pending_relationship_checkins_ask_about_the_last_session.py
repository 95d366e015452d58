"""Rapport's trust (version 3), alliance (version 3) and openness (version 2) check-ins ask
about the last session instead of "today" (docs/instruments.md): the check-in comes before
a session.

A new administration takes the newest installed version, so plans need no change. This
moves the check-ins already created but not yet started (pending, no answers) to the new
versions, so clients see the new wording from now on; anything started or completed keeps
the version it was given in. Versions are written out here rather than read from the
definitions: a migration must do the same thing whenever it runs.
"""

from django.db import migrations

# instrument id: (previous version, new version)
MOVES = {
    "rapport_trust": ("2", "3"),
    "rapport_alliance": ("2", "3"),
    "rapport_openness": ("1", "2"),
}


def move_pending(apps, *, backwards: bool) -> None:
    Administration = apps.get_model("clinic", "Administration")
    for instrument_id, (previous, new) in MOVES.items():
        source, target = (new, previous) if backwards else (previous, new)
        Administration.objects.filter(
            instrument_id=instrument_id, instrument_version=source, status="pending", answers={}
        ).update(instrument_version=target)


def forwards(apps, schema_editor):
    move_pending(apps, backwards=False)


def backwards(apps, schema_editor):
    move_pending(apps, backwards=True)


class Migration(migrations.Migration):
    dependencies = [("clinic", "0006_client_progress")]

    operations = [migrations.RunPython(forwards, backwards)]
