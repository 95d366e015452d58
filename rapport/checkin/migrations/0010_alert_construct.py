from django.db import migrations, models


def construct_from_the_answers(apps, schema_editor):
    """Give each item alert the construct of the questionnaire whose answer raised it: the
    administration at the alert's session that carries the alert's code among its flags.
    Read from the stored answers, so it holds for questionnaires no longer installed."""
    Alert = apps.get_model("checkin", "Alert")
    Administration = apps.get_model("clinic", "Administration")
    alerts = Alert.objects.exclude(code="").exclude(session=None).filter(construct="")
    for alert in alerts.iterator():
        administrations = Administration.objects.filter(session_id=alert.session_id)
        for flags, construct in administrations.values_list("flags", "construct"):
            if alert.code in (flags or ()):
                alert.construct = construct
                alert.save(update_fields=["construct"])
                break


class Migration(migrations.Migration):
    dependencies = [
        ("checkin", "0009_relationship_followup_outcomes"),
        ("clinic", "0006_client_progress"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="construct",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.RunPython(construct_from_the_answers, migrations.RunPython.noop),
    ]
