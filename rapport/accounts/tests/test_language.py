"""#17.7: each member of staff chooses the language of their pages; the sign-in page
follows the browser until someone has signed in."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from rapport.security.models import AuditEvent
from rapport.testing import login_verified, reads_in

pytestmark = pytest.mark.django_db
TEMPORARY = "plum orchard at dawn 42"


def test_the_sign_in_page_follows_the_browsers_language():
    spanish = Client(HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5").get(reverse("login"))
    english = Client(HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9").get(reverse("login"))
    unknown = Client(HTTP_ACCEPT_LANGUAGE="de-DE").get(reverse("login"))

    assert "<h1>Iniciar sesión</h1>" in spanish.content.decode()
    assert "¿Olvidó su contraseña?" in spanish.content.decode()
    assert spanish["Content-Language"] == "es"
    assert "Accept-Language" in spanish["Vary"]
    assert "<h1>Sign in</h1>" in english.content.decode()
    assert "<h1>Sign in</h1>" in unknown.content.decode()  # a language Rapport lacks


def test_a_wrong_password_is_refused_in_the_browsers_language(clinics):
    browser = Client(HTTP_ACCEPT_LANGUAGE="es")
    page = browser.post(
        reverse("login"), {"username": clinics.owner.username, "password": "not it at all"}
    ).content.decode()
    assert "El usuario y la contraseña no coinciden." in page


def test_a_member_chooses_spanish_on_their_settings_page_and_it_is_audited(client, clinics):
    login_verified(client, clinics.owner)
    page = client.get(reverse("account-settings")).content.decode()
    assert "Language of your pages" in page and 'lang="es">Español</label>' in page

    response = client.post(reverse("account-settings"), {"language": "es"}, follow=True)

    clinics.owner.refresh_from_db()
    assert clinics.owner.language == "es"
    assert "Se guardó su configuración." in response.content.decode()
    assert "<h1>Su configuración</h1>" in response.content.decode()
    event = AuditEvent.objects.get(action="staff.language.change")
    assert event.actor_id == clinics.owner.pk
    assert event.detail == {"language": "es"}
    # Every page after that, whatever the browser says.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "<h1>Casos</h1>" in client.get(reverse("home")).content.decode()


def test_saving_the_same_language_again_writes_no_audit_event(client, clinics):
    login_verified(client, clinics.owner)
    client.post(reverse("account-settings"), {"language": "en"})
    assert not AuditEvent.objects.filter(action="staff.language.change").exists()


def test_a_language_rapport_does_not_ship_is_refused(client, clinics):
    login_verified(client, clinics.owner)
    page = client.post(reverse("account-settings"), {"language": "de"}).content.decode()
    clinics.owner.refresh_from_db()
    assert clinics.owner.language == "en"
    assert 'role="alert"' in page


def test_a_spanish_clinic_admin_manages_staff_in_spanish(admin_client, clinics):
    reads_in(clinics.clinic_admin, "es")
    staff_list = admin_client.get(reverse("staff-list")).content.decode()
    member_page = admin_client.get(
        reverse("staff-edit", args=[clinics.owner.public_id])
    ).content.decode()

    assert "<h1>Cuentas del personal</h1>" in staff_list
    assert "Agregar una cuenta del personal" in staff_list
    assert "Terapeuta" in staff_list  # the role, a model choice
    assert "Cambios recientes en el acceso" in staff_list
    assert "Restablecer el inicio de sesión en dos pasos" in member_page
    assert "Contraseña olvidada" in member_page
    assert "Staff accounts" not in staff_list


def test_an_account_notice_is_written_in_the_recipients_language(admin_client, clinics):
    # The admin reads English; the member they help reads Spanish.
    clinics.owner.email = "owner@example.org"
    clinics.owner.language = "es"
    clinics.owner.save()
    admin_client.post(
        reverse("staff-reset-password", args=[clinics.owner.public_id]),
        {"new_password1": TEMPORARY, "new_password2": TEMPORARY},
    )
    [notice] = mail.outbox
    assert notice.subject == "Se asignó una contraseña temporal a su cuenta de Rapport"
    assert notice.body.startswith("Hola,")
    page = admin_client.get(reverse("staff-edit", args=[clinics.owner.public_id]))
    assert "Temporary password set for" in page.content.decode()
