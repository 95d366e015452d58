"""The clinic admin's safety-notice settings page: who reaches it, what it saves, what it refuses.

The status of every persona is in the authorization matrix; here, one test per role as the
brief of the page asks, the admin of another clinic, and what a save does.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.accounts.models import Role
from rapport.checkin.models import SafetyNoticeSettings
from rapport.security.models import AuditEvent
from rapport.testing import login_verified, make_user

pytestmark = pytest.mark.django_db

GOOD = {
    "supervisor_after_minutes": "90",
    "fallback_after_minutes": "60",
    "fallback_email": "duty@example.org",
}


def _url(clinics) -> str:
    return reverse("checkin-safety-settings")


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("clinic_admin", 200),
        ("owner", 403),
        ("colleague", 403),
        ("supervisor", 403),
        ("researcher", 403),
        ("outsider", 403),
    ],
)
def test_only_the_clinics_admin_reaches_the_page(client, clinics, persona, status):
    login_verified(client, clinics.staff[persona])
    assert client.get(_url(clinics)).status_code == status
    assert client.post(_url(clinics), GOOD).status_code == (302 if status == 200 else status)
    assert SafetyNoticeSettings.objects.exists() is (persona == "clinic_admin")


def test_another_clinics_admin_changes_only_their_own_clinic(client, clinics):
    other_admin = make_user(clinics.outsider.organisation, Role.CLINIC_ADMIN)
    login_verified(client, other_admin)
    assert client.post(_url(clinics), GOOD).status_code == 302
    stored = SafetyNoticeSettings.objects.get()
    assert stored.organisation == clinics.outsider.organisation


def test_the_admin_saves_the_settings_and_the_change_is_audited(client, clinics):
    login_verified(client, clinics.clinic_admin)
    page = client.get(_url(clinics))
    assert page.context["form"].initial["supervisor_after_minutes"] == 120  # the default
    response = client.post(
        _url(clinics), {**GOOD, "sms_enabled": "on", "fallback_phone": "+1 202 555 0199"}
    )
    assert response.status_code == 302
    saved = SafetyNoticeSettings.objects.get(organisation=clinics.organisation)
    assert (saved.supervisor_after_minutes, saved.fallback_after_minutes) == (90, 60)
    assert (saved.fallback_email, saved.fallback_phone, saved.sms_enabled) == (
        "duty@example.org",
        "+1 202 555 0199",
        True,
    )
    event = AuditEvent.objects.get(action="clinic.safety_notices.update")
    assert event.actor_id == clinics.clinic_admin.pk
    assert "fallback_email" in event.detail["fields"] and "duty" not in str(event.detail)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"fallback_email": ""}, "fallback_email"),  # escalation must reach someone
        ({"fallback_phone": "+1 202 555 0199"}, "fallback_phone"),  # text messages are off
        ({"supervisor_after_minutes": "5"}, "supervisor_after_minutes"),
        ({"fallback_after_minutes": "0"}, "fallback_after_minutes"),
        ({"fallback_email": "not an address"}, "fallback_email"),
    ],
)
def test_settings_that_would_not_work_are_refused(client, clinics, changes, field):
    login_verified(client, clinics.clinic_admin)
    response = client.post(_url(clinics), {**GOOD, **changes})
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not SafetyNoticeSettings.objects.exists()
