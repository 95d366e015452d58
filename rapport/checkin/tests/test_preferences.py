"""Clients turn reminders off or stop check-ins; stopping tells the therapist."""

from __future__ import annotations

import pytest

from rapport.checkin.models import Alert, CheckinLink, CheckinPreference
from rapport.security.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_reminders_off(client, clinics, issued):
    url = f"{issued.path}preferences/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"choice": "reminders_off"})
    assert response.status_code == 200 and b"Your choice is saved." in response.content
    assert CheckinPreference.objects.get(client=clinics.owner_client).reminders_off
    assert CheckinLink.objects.get().is_open()


def test_stop_closes_links_and_alerts_the_therapist(client, clinics, issued):
    response = client.post(f"{issued.path}preferences/", {"choice": "stop"})
    assert b"Check-ins stopped" in response.content
    assert CheckinPreference.objects.get().stopped_at is not None
    assert not CheckinLink.objects.get().is_open()
    alert = Alert.objects.get()
    assert alert.kind == "checkins_stopped" and alert.episode == clinics.owner_episode
    assert AuditEvent.objects.filter(action="checkin.preference_change").exists()


def test_unknown_choice_is_400(client, issued):
    assert client.post(f"{issued.path}preferences/", {"choice": "x"}).status_code == 400
