"""A client's choices about check-ins: reminders off, or no more check-ins at all."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from rapport.checkin.models import Alert, AlertKind, CheckinLink, CheckinPreference
from rapport.clinic.models import Client
from rapport.security import audit

REMINDERS_OFF = "reminders_off"
REMINDERS_ON = "reminders_on"
STOP = "stop"
CHOICES = (REMINDERS_OFF, REMINDERS_ON, STOP)


def current(client: Client) -> CheckinPreference:
    return CheckinPreference.objects.filter(client=client).first() or CheckinPreference(
        client=client
    )


def reminders_wanted(client_id: int) -> bool:
    return not CheckinPreference.objects.filter(client_id=client_id, reminders_off=True).exists()


def apply_choice(client: Client, choice: str, *, link: CheckinLink | None = None) -> None:
    """Record ``choice``; stopping closes the client's open links and alerts the therapist."""
    if choice not in CHOICES:
        raise ValueError(f"choice {choice!r} must be one of {CHOICES}")
    now = timezone.now()
    with transaction.atomic():
        preference, _ = CheckinPreference.objects.select_for_update().get_or_create(client=client)
        if choice == STOP:
            if preference.stopped_at is not None:
                return
            preference.stopped_at = now
            CheckinLink.objects.filter(
                session__episode__client=client, used_at__isnull=True, revoked_at__isnull=True
            ).update(revoked_at=now)
            episode = client.episodes.filter(status="active").order_by("-started_on").first()
            alert = Alert.objects.create(
                organisation_id=client.organisation_id,
                kind=AlertKind.CHECKINS_STOPPED,
                client=client,
                episode=episode,
                raised_at=now,
            )
            audit.record("alert.raise", obj=alert, detail={"reason": AlertKind.CHECKINS_STOPPED})
        else:
            preference.reminders_off = choice == REMINDERS_OFF
        preference.changed_at = now
        preference.save()
        audit.record("checkin.preference_change", obj=client, detail={"reason": choice})


def resume(client: Client, *, user=None, request=None) -> None:
    """Staff restart check-ins after talking with the client (audited)."""
    with transaction.atomic():
        CheckinPreference.objects.filter(client=client).update(
            stopped_at=None, changed_at=timezone.now()
        )
        audit.record(
            "checkin.preference_change",
            request=request,
            user=user,
            obj=client,
            detail={"reason": "resumed"},
        )
