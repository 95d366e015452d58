"""The clinic admin's staff pages: list, add and change accounts, unlock them, reset a
password or two-step sign-in.

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
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts import lockout
from rapport.accounts.access_changes import recent_access_changes, record_supervision_changes
from rapport.accounts.caseload_moves import CaseloadMoveError, active_episodes_of, move_caseload
from rapport.accounts.forms import (
    MoveCaseloadForm,
    StaffCreateForm,
    StaffEditForm,
    TemporaryPasswordForm,
)
from rapport.accounts.models import Role, User
from rapport.accounts.notices import send_notice
from rapport.accounts.passwords import set_temporary_password
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
    """Every account of the clinic: role, supervisor, two-step sign-in, last sign-in,
    whether it is locked; and the recent changes to who can see what."""
    staff = list(get_staff(request).select_related("supervisor"))
    with_app = set(
        TOTPDevice.objects.filter(user__in=staff, confirmed=True).values_list("user_id", flat=True)
    )
    locked = lockout.locked_accounts([member.username for member in staff])
    rows = [
        {
            "member": member,
            "has_app": member.pk in with_app,
            "locked_until": locked.get(member.username),
        }
        for member in staff
    ]
    context = {"rows": rows, "changes": recent_access_changes(staff)}
    return render(request, "accounts/staff_list.html", context)


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
                detail={"role": member.role, "language": member.language},
            )
            record_supervision_changes(
                member, before_role=None, before_supervisor_id=None, request=request
            )
        messages.success(
            request, _("Account %(username)s created.") % {"username": member.username}
        )
        return redirect("staff-list")
    return render(request, "accounts/staff_form.html", {"form": form, "member": None})


@require_http_methods(["GET", "POST"])
def staff_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Change an account's name, e-mail, role, supervisor, or close it."""
    member = get_staff_member_or_404(request, public_id)
    before_role, before_supervisor_id, before_email = (
        member.role,
        member.supervisor_id,
        member.email,
    )
    form = StaffEditForm(request.POST or None, instance=member, acting=request.user)
    if request.method == "POST" and form.is_valid():
        closed = "is_active" in form.changed_data and not form.cleaned_data["is_active"]
        with transaction.atomic():
            form.save()
            record_supervision_changes(
                member,
                before_role=before_role,
                before_supervisor_id=before_supervisor_id,
                request=request,
            )
            audit.record(
                "staff.update",
                request=request,
                obj=member,
                object_type="user",
                detail={"fields": sorted(form.changed_data), "role": member.role},
            )
            if closed:
                end_sessions_of(member)
        if before_email and member.email.casefold() != before_email.casefold():
            # Reset links go to the new address: the holder of the old one must know.
            notice = User(email=before_email, username=member.username)
            send_notice(
                [notice],
                gettext_lazy("The e-mail address of your Rapport account was changed"),
                "accounts/email/email_changed.txt",
                {"member": member, "by": request.user},
            )
        messages.success(request, _("Account %(username)s saved.") % {"username": member.username})
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
        "locked_until": lockout.locked_accounts([member.username]).get(member.username),
        "password_form": TemporaryPasswordForm(member),
    }


def _refuse_own_account(request: HttpRequest, member: User) -> HttpResponse | None:
    """Resets of one's own sign-in go through another admin or the operator: an admin
    resetting their own would lock themselves (and perhaps the clinic) out."""
    if member.pk != request.user.pk:
        return None
    messages.error(request, _("You cannot reset your own sign-in here; ask another clinic admin."))
    return redirect("staff-edit", member.public_id)


@require_POST
def staff_unlock(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Lift the lockout of an account now (the member asked the admin for help)."""
    member = get_staff_member_or_404(request, public_id)
    lockout.clear_failures(member.username)
    audit.record("staff.unlock", request=request, obj=member, object_type="user")
    messages.success(request, _("%(username)s can sign in again.") % {"username": member.username})
    return redirect("staff-edit", member.public_id)


@sensitive_post_parameters("new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
def staff_reset_password(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Give a member a temporary password: it works once, to choose their own.

    Their sessions end, the lock on the account lifts, and they are told by e-mail.
    """
    member = get_staff_member_or_404(request, public_id)
    if refused := _refuse_own_account(request, member):
        return refused
    form = TemporaryPasswordForm(member, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            set_temporary_password(member, form.cleaned_data["new_password1"], request=request)
            end_sessions_of(member)
            lockout.clear_failures(member.username)
        send_notice(
            [member],
            gettext_lazy("A temporary password was set for your Rapport account"),
            "accounts/email/password_reset_by_admin.txt",
            {"member": member, "by": request.user},
        )
        messages.success(
            request,
            _(
                "Temporary password set for %(username)s. Give it to them in person or by "
                "phone; at their next sign-in they choose their own."
            )
            % {"username": member.username},
        )
        return redirect("staff-edit", member.public_id)
    return render(request, "accounts/staff_password.html", {"form": form, "member": member})


@require_POST
def staff_move_caseload(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Give another therapist of the clinic all of this therapist's active clients."""
    member = get_staff_member_or_404(request, public_id)
    form = MoveCaseloadForm(request.POST, member=member)
    if not form.is_valid():
        messages.error(request, _("Not moved: choose an active therapist of this clinic."))
        return redirect("staff-edit", member.public_id)
    try:
        moved = move_caseload(member, form.cleaned_data["to"], request=request)
    except CaseloadMoveError as error:
        messages.error(request, _("Not moved: %s") % error)
        return redirect("staff-edit", member.public_id)
    messages.success(
        request,
        ngettext(
            "%(count)d active client moved to %(colleague)s.",
            "%(count)d active clients moved to %(colleague)s.",
            moved,
        )
        % {"count": moved, "colleague": form.cleaned_data["to"]},
    )
    return redirect("staff-edit", member.public_id)


@require_POST
def staff_reset_mfa(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Remove the member's authenticator apps (a lost phone) and their password, sign
    them out and tell them by e-mail (signout.reset_mfa)."""
    member = get_staff_member_or_404(request, public_id)
    if refused := _refuse_own_account(request, member):
        return refused
    reset_mfa(member, via="staff_page", request=request)
    messages.success(
        request,
        _(
            "%(username)s is signed out and their password no longer works. Give them a "
            "temporary password below (or they use “Forgot your password?”); they then set "
            "up a new authenticator app."
        )
        % {"username": member.username},
    )
    return redirect("staff-edit", member.public_id)
