"""The clinic admin's staff pages: list, add and change accounts, reset two-step sign-in.

Clinic admins only (``clinic.manage``); every account is looked up within the admin's own
organisation through the access layer, which writes the read to the audit trail. Each
change is audited too, with the names of the fields it changed, never their values.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.caseload_moves import CaseloadMoveError, active_episodes_of, move_caseload
from rapport.accounts.forms import MoveCaseloadForm, StaffCreateForm, StaffEditForm
from rapport.accounts.models import Role, User
from rapport.accounts.signout import end_sessions_of, reset_mfa
from rapport.security import audit
from rapport.security.access import (
    MANAGE_CLINIC,
    get_staff,
    get_staff_member_or_404,
    require_permission,
)


@require_GET
def staff_list(request: HttpRequest) -> HttpResponse:
    """Every account of the clinic: role, supervisor, two-step sign-in, last sign-in."""
    staff = list(get_staff(request).select_related("supervisor"))
    with_app = set(
        TOTPDevice.objects.filter(user__in=staff, confirmed=True).values_list("user_id", flat=True)
    )
    rows = [{"member": member, "has_app": member.pk in with_app} for member in staff]
    return render(request, "accounts/staff_list.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
def staff_create(request: HttpRequest) -> HttpResponse:
    """A new account in the admin's clinic; its holder sets up MFA at first sign-in."""
    require_permission(request.user, MANAGE_CLINIC)
    form = StaffCreateForm(request.POST or None, acting=request.user)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            member = form.save()
            audit.record(
                "staff.create",
                request=request,
                obj=member,
                object_type="user",
                detail={"role": member.role},
            )
        messages.success(request, f"Account {member.username} created.")
        return redirect("staff-list")
    return render(request, "accounts/staff_form.html", {"form": form, "member": None})


@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Change an account's name, e-mail, role, supervisor, or close it."""
    member = get_staff_member_or_404(request, public_id)
    form = StaffEditForm(request.POST or None, instance=member, acting=request.user)
    if request.method == "POST" and form.is_valid():
        closed = "is_active" in form.changed_data and not form.cleaned_data["is_active"]
        with transaction.atomic():
            form.save()
            audit.record(
                "staff.update",
                request=request,
                obj=member,
                object_type="user",
                detail={"fields": sorted(form.changed_data), "role": member.role},
            )
            if closed:
                end_sessions_of(member)
        messages.success(request, f"Account {member.username} saved.")
        return redirect("staff-list")
    # A refused form has already copied the posted values onto ``member``: the page
    # shows the account as stored.
    stored = User.objects.get(pk=member.pk)
    return render(request, "accounts/staff_form.html", _edit_context(form, stored))


def _edit_context(form: StaffEditForm, member: User) -> dict:
    clients = active_episodes_of(member).count() if member.role == Role.THERAPIST else 0
    return {
        "form": form,
        "member": member,
        "active_clients": clients,
        "move_form": MoveCaseloadForm(member=member) if clients else None,
    }


@require_POST
def staff_move_caseload(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Give another therapist of the clinic all of this therapist's active clients."""
    member = get_staff_member_or_404(request, public_id)
    form = MoveCaseloadForm(request.POST, member=member)
    if not form.is_valid():
        messages.error(request, "Not moved: choose an active therapist of this clinic.")
        return redirect("staff-edit", member.public_id)
    try:
        moved = move_caseload(member, form.cleaned_data["to"], request=request)
    except CaseloadMoveError as error:
        messages.error(request, f"Not moved: {error}")
        return redirect("staff-edit", member.public_id)
    messages.success(request, f"{moved} active client(s) moved to {form.cleaned_data['to']}.")
    return redirect("staff-edit", member.public_id)


@require_POST
def staff_reset_mfa(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Remove the member's authenticator apps (a lost phone) and sign them out."""
    member = get_staff_member_or_404(request, public_id)
    reset_mfa(member, via="staff_page", request=request)
    messages.success(
        request,
        f"{member.username} is signed out and sets up a new authenticator app at their "
        "next sign-in.",
    )
    return redirect("staff-list")
