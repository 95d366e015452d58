"""Version 2 of the PHQ-9, GAD-7, trust and alliance check-ins (docs/instruments.md).

Measurement plans name instruments by id, and a new administration takes the newest
installed version, so plans need no change. This moves the check-ins already created but
not yet started (pending, no answers) to version 2, so clients see the revised wording
from now on. Anything started or completed keeps the version it was given in, and
scores by it. It also records, on stored PHQ-9s, the flag version 2's scoring raises
(and version 1's now does) when item 9 is blank: without it a blank risk item on an
imported administration would stay invisible until rescored.

Versions are written out here rather than read from the definitions: a migration must
do the same thing whenever it runs.
"""

from django.db import migrations

NEW_VERSIONS = {"phq9": "2", "gad7": "2", "rapport_trust": "2", "rapport_alliance": "2"}
RISK_ITEM, UNANSWERED_FLAG = "phq9_9", "unanswered:phq9_9"


def forwards(apps, schema_editor):
    Administration = apps.get_model("clinic", "Administration")
    for instrument_id, version in NEW_VERSIONS.items():
        Administration.objects.filter(
            instrument_id=instrument_id, instrument_version="1", status="pending", answers={}
        ).update(instrument_version=version)
    completed_phq9 = Administration.objects.filter(instrument_id="phq9", status="completed")
    for administration in completed_phq9.only("pk", "answers", "flags").iterator():
        if administration.answers.get(RISK_ITEM) is None and (
            UNANSWERED_FLAG not in administration.flags
        ):
            administration.flags = [*administration.flags, UNANSWERED_FLAG]
            administration.save(update_fields=["flags"])


def backwards(apps, schema_editor):
    Administration = apps.get_model("clinic", "Administration")
    for instrument_id, version in NEW_VERSIONS.items():
        Administration.objects.filter(
            instrument_id=instrument_id, instrument_version=version, status="pending", answers={}
        ).update(instrument_version="1")
    flagged = Administration.objects.filter(instrument_id="phq9", status="completed")
    for administration in flagged.only("pk", "flags").iterator():
        if UNANSWERED_FLAG in administration.flags:
            administration.flags = [f for f in administration.flags if f != UNANSWERED_FLAG]
            administration.save(update_fields=["flags"])


class Migration(migrations.Migration):
    dependencies = [("clinic", "0003_administration_session_uses_unique_index")]

    operations = [migrations.RunPython(forwards, backwards)]
