"""#17.4 and #15.4: the clinic admin helps a locked-out member back in, and new
supervision is visible to the clinic."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from rapport.accounts import lockout
from rapport.accounts.models import Role, User
from rapport.security.models import AuditEvent
from rapport.testing import login_verified, make_two_clinics, make_user

pytestmark = pytest.mark.django_db
TEMPORARY = "plum orchard at dawn 42"


def lock_out(user: User) -> None:
    for _ in range(5):
        Client().post(reverse("login"), {"username": user.username, "password": "wrong guess!"})
    assert lockout.locked_until(user.username, "127.0.0.1")


def test_the_staff_list_shows_a_locked_account(admin_client, clinics):
    lock_out(clinics.owner)
    rows = {row["member"]: row for row in admin_client.get(reverse("staff-list")).context["rows"]}
    assert rows[clinics.owner]["locked_until"] is not None
    assert rows[clinics.colleague]["locked_until"] is None
    page = admin_client.get(reverse("staff-edit", args=[clinics.owner.public_id]))
    assert "Unlock now" in page.content.decode()


def test_a_lock_from_many_addresses_shows_too():
    organisation_user = make_two_clinics().owner
    for number in range(10):
        lockout.record_failure(organisation_user.username, f"198.51.100.{number}")
    assert organisation_user.username in lockout.locked_accounts([organisation_user.username])


def test_unlocking_lets_the_member_sign_in_at_once(admin_client, clinics):
    lock_out(clinics.owner)
    response = admin_client.post(reverse("staff-unlock", args=[clinics.owner.public_id]))
    assert response.url == reverse("staff-edit", args=[clinics.owner.public_id])
    assert lockout.locked_until(clinics.owner.username, "127.0.0.1") is None
    assert AuditEvent.objects.filter(
        action="staff.unlock",
        object_id=str(clinics.owner.public_id),
        actor_id=clinics.clinic_admin.pk,
    ).exists()


def test_a_temporary_password_signs_out_notifies_and_must_be_replaced(admin_client, clinics):
    clinics.owner.email = "owner@example.org"
    clinics.owner.save()
    theirs = Client()
    login_verified(theirs, clinics.owner)
    lock_out(clinics.owner)
    response = admin_client.post(
        reverse("staff-reset-password", args=[clinics.owner.public_id]),
        {"new_password1": TEMPORARY, "new_password2": TEMPORARY},
    )
    assert response.status_code == 302
    clinics.owner.refresh_from_db()
    assert clinics.owner.must_change_password
    assert theirs.get(reverse("home")).url.startswith(reverse("login"))
    assert lockout.locked_until(clinics.owner.username, "127.0.0.1") is None
    assert [message.to for message in mail.outbox] == [["owner@example.org"]]
    browser = Client()
    signed = browser.post(
        reverse("login"), {"username": clinics.owner.username, "password": TEMPORARY}
    )
    assert signed.url.startswith(reverse("password-choose"))
    assert AuditEvent.objects.filter(action="staff.password_reset").count() == 1


def test_a_weak_temporary_password_is_refused(admin_client, clinics):
    response = admin_client.post(
        reverse("staff-reset-password", args=[clinics.owner.public_id]),
        {"new_password1": "aaaaaaaaaaaa", "new_password2": "aaaaaaaaaaaa"},
    )
    assert response.status_code == 200
    clinics.owner.refresh_from_db()
    assert not clinics.owner.must_change_password


@pytest.mark.parametrize("name", ["staff-reset-password", "staff-reset-mfa"])
def test_an_admin_cannot_reset_their_own_sign_in(admin_client, clinics, name):
    data = {"new_password1": TEMPORARY, "new_password2": TEMPORARY}
    admin_client.post(reverse(name, args=[clinics.clinic_admin.public_id]), data)
    clinics.clinic_admin.refresh_from_db()
    assert clinics.clinic_admin.has_usable_password()
    assert not clinics.clinic_admin.must_change_password


def test_a_new_supervisor_is_announced_listed_and_audited(admin_client, clinics):
    clinics.supervisor.email = "sam@example.org"
    clinics.supervisor.save()
    other_admin = make_user(clinics.organisation, Role.CLINIC_ADMIN, email="ana@example.org")
    response = admin_client.post(
        reverse("staff-create"),
        {
            "username": "watcher",
            "role": Role.SUPERVISOR,
            "password1": TEMPORARY,
            "password2": TEMPORARY,
        },
    )
    assert response.status_code == 302
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted(["sam@example.org", other_admin.email])
    watcher = User.objects.get(username="watcher")
    assert AuditEvent.objects.filter(
        action="staff.supervisor.appointed", object_id=str(watcher.public_id)
    ).exists()
    changes = admin_client.get(reverse("staff-list")).context["changes"]
    assert [(change.action, change.member) for change in changes] == [
        ("staff.supervisor.appointed", watcher)
    ]


def test_giving_a_therapist_a_supervisor_is_announced(admin_client, clinics):
    clinics.supervisor.email = "sam@example.org"
    clinics.supervisor.save()
    watcher = make_user(clinics.organisation, Role.SUPERVISOR, email="watcher@example.org")
    data = {
        "first_name": "",
        "last_name": "",
        "email": "",
        "role": Role.THERAPIST,
        "supervisor": watcher.pk,
        "is_active": "on",
    }
    response = admin_client.post(
        reverse("staff-edit", args=[clinics.colleague.public_id]),
        {key: value for key, value in data.items() if value != ""},
    )
    assert response.status_code == 302
    assert ["sam@example.org"] in [message.to for message in mail.outbox]
    change = admin_client.get(reverse("staff-list")).context["changes"][0]
    assert (change.member, change.supervisor) == (clinics.colleague, watcher)


def test_a_role_change_to_supervisor_is_announced(admin_client, clinics):
    clinics.supervisor.email = "sam@example.org"
    clinics.supervisor.save()
    admin_client.post(
        reverse("staff-edit", args=[clinics.researcher.public_id]),
        {"role": Role.SUPERVISOR, "is_active": "on"},
    )
    clinics.researcher.refresh_from_db()
    assert clinics.researcher.role == Role.SUPERVISOR
    assert AuditEvent.objects.filter(
        action="staff.supervisor.appointed", detail__via="role_change"
    ).exists()
    assert [message.to for message in mail.outbox] == [["sam@example.org"]]


def test_another_clinics_changes_are_not_listed(admin_client, clinics):
    other_admin = make_user(clinics.outsider.organisation, Role.CLINIC_ADMIN)
    theirs = Client()
    login_verified(theirs, other_admin)
    theirs.post(
        reverse("staff-create"),
        {
            "username": "elsewhere",
            "role": Role.SUPERVISOR,
            "password1": TEMPORARY,
            "password2": TEMPORARY,
        },
    )
    assert admin_client.get(reverse("staff-list")).context["changes"] == []


def test_a_changed_email_address_is_told_to_the_old_one(admin_client, clinics):
    clinics.owner.email = "old@example.org"
    clinics.owner.save()
    admin_client.post(
        reverse("staff-edit", args=[clinics.owner.public_id]),
        {
            "email": "new@example.org",
            "role": Role.THERAPIST,
            "supervisor": clinics.supervisor.pk,
            "is_active": "on",
        },
    )
    assert [message.to for message in mail.outbox] == [["old@example.org"]]
