"""The clinic admin's crisis contacts page: who reaches it, saving, preview, audit."""

from __future__ import annotations

import pytest
from django.urls import reverse

from rapport.checkin.models import CheckinSettings
from rapport.checkin.tests.helpers import full_answers
from rapport.checkin.tests.test_crisis import SPANISH_DEFAULT_LINES, SPANISH_HEADING, CrisisBox
from rapport.security.models import AuditEvent
from rapport.testing import login_verified

pytestmark = pytest.mark.django_db
URL = reverse("crisis-contacts")


@pytest.fixture
def admin(client, clinics):
    login_verified(client, clinics.clinic_admin)
    return client


def stored(clinics) -> dict:
    row = CheckinSettings.objects.filter(organisation=clinics.organisation).first()
    return row.crisis_resources if row else {}


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("clinic_admin", 200),
        ("owner", 403),
        ("supervisor", 403),
        ("researcher", 403),
        ("outsider", 403),
    ],
)
def test_only_clinic_admins_reach_the_page(client, clinics, persona, status):
    login_verified(client, clinics.staff[persona])
    assert client.get(URL).status_code == status
    assert client.post(
        URL, {"language": "es", "es-contacts": "x", "action": "save"}
    ).status_code == (status if status != 200 else 302)
    if status == 403:
        assert stored(clinics) == {}


def test_the_admins_navigation_links_to_the_page(admin):
    assert f'href="{URL}"' in admin.get(reverse("home"), follow=True).content.decode()


def test_other_roles_have_no_link(client, clinics):
    login_verified(client, clinics.owner)
    assert URL not in client.get(reverse("home")).content.decode()


def test_saving_spanish_contacts_shows_them_to_a_spanish_client(admin, clinics, issued):
    response = admin.post(
        URL,
        {
            "language": "es",
            "es-contacts": "Línea de la clínica: 555 0100\r\n\r\n  Urgencias: 911 ",
            "action": "save",
        },
    )
    assert response.status_code == 302
    assert stored(clinics) == {"es": "Línea de la clínica: 555 0100\nUrgencias: 911"}
    from django.test import Client

    page = Client().post(f"{issued.path}submit/?lang=es", full_answers(phq9_item9=1))
    box = CrisisBox(page.content.decode())
    assert box.heading == SPANISH_HEADING
    assert box.lines == ["Línea de la clínica: 555 0100", "Urgencias: 911"]


def test_saving_one_language_keeps_the_other(admin, clinics):
    CheckinSettings.objects.create(
        organisation=clinics.organisation, crisis_resources={"en": "Duty line 555 0100"}
    )
    admin.post(URL, {"language": "es", "es-contacts": "Guardia 555 0100", "action": "save"})
    assert stored(clinics) == {"en": "Duty line 555 0100", "es": "Guardia 555 0100"}
    admin.post(URL, {"language": "en", "en-contacts": "  ", "action": "save"})
    assert stored(clinics) == {"es": "Guardia 555 0100"}


def test_a_save_is_audited_with_the_language_and_count_but_not_the_text(admin, clinics):
    admin.post(URL, {"language": "es", "es-contacts": "Guardia 555 0100\nOtra", "action": "save"})
    event = AuditEvent.objects.get(action="checkin.crisis_contacts.update")
    assert event.actor_id == clinics.clinic_admin.pk
    assert event.object_id == str(clinics.organisation.public_id)
    assert event.detail == {"fields": ["crisis_resources.es"], "count": 2}
    assert "555" not in str(event.detail)
    assert AuditEvent.objects.filter(action="checkin.crisis_contacts.read").exists()


def test_the_preview_renders_the_clients_box_in_that_language_without_saving(admin, clinics):
    page = admin.post(
        URL, {"language": "es", "es-contacts": "Guardia: 555 0100", "action": "preview"}
    ).content.decode()
    assert stored(clinics) == {}
    spanish = page[page.index('<div class="crisis-preview" lang="es">') :]
    box = CrisisBox(spanish)
    assert box.heading == SPANISH_HEADING
    assert box.lines == ["Guardia: 555 0100"]
    assert "Guardia: 555 0100" in page  # the typed text stays in the form


def test_the_preview_shows_the_defaults_and_says_so(admin):
    page = admin.get(URL).content.decode()
    spanish = CrisisBox(page[page.index('<div class="crisis-preview" lang="es">') :])
    assert spanish.lines == SPANISH_DEFAULT_LINES
    assert "Rapport's default lines" in page or "Rapport&#x27;s default lines" in page


def test_the_spanish_preview_shows_the_english_fallback_marked_as_english(admin, clinics):
    CheckinSettings.objects.create(
        organisation=clinics.organisation, crisis_resources={"en": "Duty line 555 0100"}
    )
    page = admin.get(URL).content.decode()
    spanish = CrisisBox(page[page.index('<div class="crisis-preview" lang="es">') :])
    assert spanish.heading == SPANISH_HEADING
    assert spanish.lines == ["Duty line 555 0100"] and spanish.list_lang == "en"
    assert "clients see your English contacts" in page


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("\n".join(f"line {n}" for n in range(13)), "at most 12 lines"),
        ("x" * 301, "longer than 300 characters"),
        ("bad \x07 bell", "control characters"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(admin, clinics, text, error):
    response = admin.post(URL, {"language": "en", "en-contacts": text, "action": "save"})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert stored(clinics) == {}
    assert not AuditEvent.objects.filter(action="checkin.crisis_contacts.update").exists()
