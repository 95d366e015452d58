"""Drafts are kept per link (the device that saved them), no longer per session.

An existing draft cannot say which link saved it. It goes to the session's oldest open
link that staff did not issue (the client's own, sent by e-mail or text message); a
draft with no such link is deleted, so no staff-held link ever shows it.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.utils import timezone

CLIENT_CHANNELS = ("email", "sms")


def attach_drafts_to_links(apps, schema_editor):
    CheckinDraft = apps.get_model("checkin", "CheckinDraft")
    CheckinLink = apps.get_model("checkin", "CheckinLink")
    now = timezone.now()
    # Ids only: the encrypted comment is neither decrypted nor rewritten.
    for draft_id, session_id in CheckinDraft.objects.values_list("pk", "session_id"):
        link = (
            CheckinLink.objects.filter(
                session_id=session_id,
                channel__in=CLIENT_CHANNELS,
                used_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=now,
            )
            .order_by("created_at", "pk")
            .first()
        )
        drafts = CheckinDraft.objects.filter(pk=draft_id)
        if link is None:
            drafts.delete()
        else:
            drafts.update(link_id=link.pk)


def delete_drafts(apps, schema_editor):
    # Backwards, a draft cannot go back to one row per session; drafts are short-lived.
    apps.get_model("checkin", "CheckinDraft").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [
        ("checkin", "0005_safety_notices"),
    ]

    operations = [
        migrations.AddField(
            model_name="checkindraft",
            name="link",
            field=models.OneToOneField(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="draft",
                to="checkin.checkinlink",
            ),
        ),
        migrations.RunPython(attach_drafts_to_links, migrations.RunPython.noop),
        migrations.RemoveField(model_name="checkindraft", name="session"),
        # Backwards this runs before the session column comes back (which needs no rows).
        migrations.RunPython(migrations.RunPython.noop, delete_drafts),
        migrations.AlterField(
            model_name="checkindraft",
            name="link",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="draft",
                to="checkin.checkinlink",
            ),
        ),
        migrations.AddField(
            model_name="checkinsubmission",
            name="staff_opened",
            field=models.BooleanField(default=False),
        ),
    ]
