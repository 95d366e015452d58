"""The clinic admin's staff pages: who may use them, what they change, what they refuse.

Which role gets which status on each URL is in the authorization matrix; here, what the
pages do for a clinic admin and what an admin of another clinic finds (nothing).
"""

from __future__ import annotations

import pytest
from django.contrib.auth import authenticate
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.models import Role, User
from rapport.security.models import AuditEvent
from rapport.testing import login_verified, make_user

pytestmark = pytest.mark.django_db
NEW_PASSWORD = "plum orchard at dawn 42"


def edit_data(member: User, **changes) -> dict:
    data = {
        "first_name": member.first_name,
        "last_name": member.last_name,
        "email": member.email,
        "role": member.role,
        "supervisor": member.supervisor_id or "",
        "is_active": "on" if member.is_active else "",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value not in ("", None)}


def test_the_list_shows_this_clinics_staff_only(admin_client, clinics):
    response = admin_client.get(reverse("staff-list"))
    assert response.status_code == 200
    listed = {row["member"].username for row in response.context["rows"]}
    in_clinic = {user.username for user in clinics.staff.values() if user != clinics.outsider}
    assert listed == in_clinic
    assert clinics.outsider.username.encode() not in response.content
    assert AuditEvent.objects.filter(action="staff.list", actor_id=clinics.clinic_admin.pk).exists()


def test_the_list_says_who_has_no_authenticator_app_yet(admin_client, clinics):
    TOTPDevice.objects.filter(user=clinics.researcher).delete()
    rows = admin_client.get(reverse("staff-list")).context["rows"]
    without_app = {row["member"] for row in rows if not row["has_app"]}
    assert without_app == {clinics.researcher}


def test_a_new_account_joins_the_admins_clinic_and_can_sign_in(admin_client, clinics):
    response = admin_client.post(
        reverse("staff-create"),
        {
            "username": "new.therapist",
            "first_name": "Noor",
            "last_name": "Haddad",
            "email": "noor@example.org",
            "role": Role.THERAPIST,
            "supervisor": clinics.supervisor.pk,
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    member = User.objects.get(username="new.therapist")
    assert member.organisation == clinics.organisation
    assert member.supervisor == clinics.supervisor
    assert authenticate(username="new.therapist", password=NEW_PASSWORD) == member
    assert not TOTPDevice.objects.filter(user=member).exists()  # set up at first sign-in
    event = AuditEvent.objects.get(action="staff.create")
    assert event.object_id == str(member.public_id)
    assert event.detail == {"role": "therapist", "language": "en"}
    assert NEW_PASSWORD not in str(AuditEvent.objects.values_list())


def test_the_admin_chooses_a_new_members_language_and_their_pages_follow_it(
    admin_client, client, clinics
):
    data = {"username": "ana.es", "first_name": "Ana", "role": Role.RESEARCHER, "language": "es"}
    data |= {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert admin_client.post(reverse("staff-create"), data).status_code == 302
    member = User.objects.get(username="ana.es")
    assert member.language == "es"
    assert AuditEvent.objects.get(action="staff.create").detail["language"] == "es"
    member.must_change_password = False  # chosen at first sign-in; not what is tested here
    member.save(update_fields=["must_change_password"])
    login_verified(client, member)
    page = client.get(reverse("account-settings"))
    assert page.status_code == 200 and page["Content-Language"] == "es"


def test_an_unknown_language_is_refused(admin_client, clinics):
    data = {"username": "x.fr", "role": Role.RESEARCHER, "language": "fr"}
    data |= {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = admin_client.post(reverse("staff-create"), data)
    assert response.status_code == 200 and "language" in response.context["form"].errors
    assert not User.objects.filter(username="x.fr").exists()


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"password2": "something else 99"}, "password2", "two password fields"),
        ({"password1": "short", "password2": "short"}, "password2", "too short"),
        ({"username": "taken"}, "username", "already exists"),
        ({"role": Role.RESEARCHER}, "supervisor", "Only therapists have a supervisor"),
    ],
)
def test_a_new_account_is_refused_with_a_clear_error(
    admin_client, clinics, changes, field, message
):
    make_user(clinics.organisation, username="taken")
    data = {
        "username": "someone.new",
        "role": Role.THERAPIST,
        "supervisor": clinics.supervisor.pk,
        "password1": NEW_PASSWORD,
        "password2": NEW_PASSWORD,
    } | changes
    response = admin_client.post(reverse("staff-create"), data)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert not User.objects.filter(username="someone.new").exists()


def test_a_supervisor_from_another_clinic_cannot_be_chosen(admin_client, clinics):
    foreign = make_user(clinics.outsider.organisation, Role.SUPERVISOR)
    data = {"username": "x.y", "role": Role.THERAPIST, "supervisor": foreign.pk}
    data |= {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    response = admin_client.post(reverse("staff-create"), data)
    assert "supervisor" in response.context["form"].errors
    assert not User.objects.filter(username="x.y").exists()


def test_changing_a_role_is_saved_and_audited_by_field_name(admin_client, clinics):
    url = reverse("staff-edit", args=[clinics.colleague.public_id])
    response = admin_client.post(url, edit_data(clinics.colleague, role=Role.RESEARCHER))
    assert response.status_code == 200  # a researcher has no supervisor: refused first
    assert "supervisor" in response.context["form"].errors
    response = admin_client.post(
        url, edit_data(clinics.colleague, role=Role.RESEARCHER, supervisor="")
    )
    assert response.status_code == 302
    clinics.colleague.refresh_from_db()
    assert clinics.colleague.role == Role.RESEARCHER
    event = AuditEvent.objects.get(action="staff.update")
    assert event.detail == {"fields": ["role", "supervisor"], "role": "researcher"}


def test_closing_an_account_signs_it_out_at_once(admin_client, clinics):
    theirs = Client()
    login_verified(theirs, clinics.colleague)
    assert theirs.get(reverse("home")).status_code == 200
    url = reverse("staff-edit", args=[clinics.colleague.public_id])
    assert admin_client.post(url, edit_data(clinics.colleague, is_active="")).status_code == 302
    clinics.colleague.refresh_from_db()
    assert not clinics.colleague.is_active
    assert theirs.get(reverse("home")).url.startswith(reverse("login"))
    assert authenticate(username=clinics.colleague.username, password="x") is None


def test_an_admin_cannot_close_their_own_account_or_change_their_role(admin_client, clinics):
    me = clinics.clinic_admin
    url = reverse("staff-edit", args=[me.public_id])
    for changes in ({"is_active": ""}, {"role": Role.SUPERVISOR}):
        response = admin_client.post(url, edit_data(me, **changes))
        assert response.status_code == 200
        assert "another clinic admin" in str(response.context["form"].non_field_errors())
    me.refresh_from_db()
    assert me.is_active and me.role == Role.CLINIC_ADMIN
    assert not AuditEvent.objects.filter(action="staff.update").exists()


def test_a_supervisor_keeps_role_and_access_while_supervising(admin_client, clinics):
    url = reverse("staff-edit", args=[clinics.supervisor.public_id])
    for changes in ({"is_active": ""}, {"role": Role.THERAPIST}):
        response = admin_client.post(url, edit_data(clinics.supervisor, **changes))
        assert "supervises 2 therapists:" in str(response.context["form"].non_field_errors())
    clinics.supervisor.refresh_from_db()
    assert clinics.supervisor.is_active and clinics.supervisor.role == Role.SUPERVISOR


def test_resetting_mfa_removes_the_app_and_signs_the_member_out(admin_client, clinics):
    theirs = Client()
    login_verified(theirs, clinics.owner)
    response = admin_client.post(reverse("staff-reset-mfa", args=[clinics.owner.public_id]))
    # Back to the member's page, where the admin can give a temporary password.
    assert response.url == reverse("staff-edit", args=[clinics.owner.public_id])
    assert not TOTPDevice.objects.filter(user=clinics.owner).exists()
    assert theirs.get(reverse("home")).url.startswith(reverse("login"))
    event = AuditEvent.objects.get(action="auth.mfa.reset")
    assert event.detail == {"via": "staff_page", "removed": 1, "count": 1}
    assert event.actor_id == clinics.clinic_admin.pk


@pytest.mark.parametrize(
    "name", ["staff-edit", "staff-reset-mfa", "staff-unlock", "staff-reset-password"]
)
def test_another_clinics_admin_finds_no_such_account(client, clinics, name):
    other_admin = make_user(clinics.outsider.organisation, Role.CLINIC_ADMIN)
    login_verified(client, other_admin)
    url = reverse(name, args=[clinics.owner.public_id])
    assert client.post(url, edit_data(clinics.owner, role=Role.CLINIC_ADMIN)).status_code == 404
    clinics.owner.refresh_from_db()
    assert clinics.owner.role == Role.THERAPIST
    assert TOTPDevice.objects.filter(user=clinics.owner).exists()


def test_only_clinic_admins_see_the_staff_link(client, clinics):
    for persona, user in clinics.staff.items():
        login_verified(client, user)
        page = client.get(reverse("home"), follow=True)
        assert page.status_code == 200
        shown = reverse("staff-list").encode() in page.content
        assert shown == (persona == "clinic_admin"), persona


def test_a_therapist_with_active_clients_keeps_access_until_they_are_moved(admin_client, clinics):
    owner = clinics.owner
    url = reverse("staff-edit", args=[owner.public_id])
    for changes in ({"is_active": ""}, {"role": Role.RESEARCHER, "supervisor": ""}):
        response = admin_client.post(url, edit_data(owner, **changes))
        assert "has 1 active client:" in str(response.context["form"].non_field_errors())
        # The page offers the move the message asks for, whatever was posted.
        assert response.context["move_form"] is not None
        assert b"Move 1 client" in response.content
    owner.refresh_from_db()
    assert owner.is_active and owner.role == Role.THERAPIST


def test_moving_a_caseload_hands_the_clients_over_and_then_the_account_can_close(
    admin_client, clinics
):
    owner, colleague = clinics.owner, clinics.colleague
    move = reverse("staff-move-caseload", args=[owner.public_id])
    response = admin_client.post(move, {"to": colleague.pk}, follow=True)
    assert "1 active client moved to" in response.content.decode()
    clinics.owner_episode.refresh_from_db()
    assert clinics.owner_episode.therapist == colleague
    events = AuditEvent.objects.filter(action__startswith="caseload.").order_by("action")
    assert [(e.action, e.object_id, e.detail) for e in events] == [
        ("caseload.move_in", str(colleague.public_id), {"count": 1}),
        ("caseload.move_out", str(owner.public_id), {"count": 1}),
    ]
    assert clinics.owner_client.record_number.encode() not in response.content
    edit = reverse("staff-edit", args=[owner.public_id])
    assert admin_client.post(edit, edit_data(owner, is_active="")).status_code == 302


def test_a_caseload_cannot_move_to_another_clinic_or_a_non_therapist(admin_client, clinics):
    move = reverse("staff-move-caseload", args=[clinics.owner.public_id])
    for target in (clinics.outsider, clinics.supervisor, clinics.owner):
        response = admin_client.post(move, {"to": target.pk}, follow=True)
        assert "Not moved" in response.content.decode()
    clinics.owner_episode.refresh_from_db()
    assert clinics.owner_episode.therapist == clinics.owner
    assert not AuditEvent.objects.filter(action__startswith="caseload.").exists()


def test_an_admin_records_a_mobile_number_for_safety_notices(admin_client, clinics):
    url = reverse("staff-edit", args=[clinics.owner.public_id])
    refused = admin_client.post(url, edit_data(clinics.owner, mobile_phone="call me maybe"))
    assert refused.status_code == 200 and "mobile_phone" in refused.context["form"].errors
    response = admin_client.post(url, edit_data(clinics.owner, mobile_phone=" +1 202-555-0100 "))
    assert response.status_code == 302
    assert User.objects.get(pk=clinics.owner.pk).mobile_phone == "+1 202-555-0100"
    event = AuditEvent.objects.filter(action="staff.update").latest("pk")
    assert "mobile_phone" in event.detail["fields"] and "555" not in str(event.detail)
