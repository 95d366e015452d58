"""Rapport's trust, alliance and openness check-ins ask about the last session, so plans
give them from session 2: before the first session there is none to rate
(``Instrument.first_session``, docs/instruments.md). This moves plan rows of these three
that start at session 1 to session 2; the plan page refuses session 1 for any
questionnaire about the relationship from now on. The ids are written out rather than
read from the definitions: a migration must do the same thing whenever it runs.
"""

from django.db import migrations

RAPPORT_RELATIONSHIP_IDS = ("rapport_trust", "rapport_alliance", "rapport_openness")


def forwards(apps, schema_editor):
    PlanEntry = apps.get_model("clinic", "PlanEntry")
    PlanEntry.objects.filter(instrument_id__in=RAPPORT_RELATIONSHIP_IDS, first_session=1).update(
        first_session=2
    )


class Migration(migrations.Migration):
    dependencies = [("clinic", "0007_pending_relationship_checkins_ask_about_the_last_session")]

    # Backwards leaves the plans as they are: session 2 was always a valid start.
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
