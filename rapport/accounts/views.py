"""Sign-in, the MFA step (enrol or verify an authenticator app) and sign-out.

The flow: password (``login``) -> authenticator code (``mfa-verify``, or ``mfa-enrol``
the first time) -> the page that was asked for. Until the code step is done,
:class:`rapport.security.middleware.StaffGateMiddleware` sends every staff page to
``mfa-verify``. A temporary password (set by a clinic admin) leads to
``password-choose`` instead, without signing in: the member's own password comes first.
Choosing a new password (``password-change``) and a forgotten one (``password-forgot``,
``password-reset``) are in :mod:`rapport.accounts.password_views`.
"""

from __future__ import annotations

import base64

import django_otp
import segno
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts import lockout
from rapport.accounts.forms import INVALID_CODE, CodeForm, LoginForm
from rapport.accounts.passwords import admin_knows_password, begin_password_choice
from rapport.security import audit
from rapport.security.access import before_mfa, public
from rapport.security.middleware import mfa_satisfied

DEVICE_NAME = "Authenticator app"


def _next_url(request: HttpRequest) -> str:
    """Where to go after this step: a same-site ``next`` parameter, else the caseload."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def _with_next(url_name: str, request: HttpRequest) -> str:
    next_url = _next_url(request)
    return f"{reverse(url_name)}?{urlencode({'next': next_url})}"


@public
@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        if admin_knows_password(user):
            # Someone else knows this password: no session, only the choice of a new one.
            begin_password_choice(request, user)
            audit.record(
                "auth.login",
                request=request,
                outcome="denied",
                obj=user,
                object_type="user",
                detail={"reason": "temporary_password"},
            )
            return redirect(_with_next("password-choose", request))
        # auth_login gives the session a new key (no fixation); the user_logged_in
        # receiver in signals.py starts the session clocks and writes the audit entry.
        auth_login(request, user)
        if mfa_satisfied(request):  # demo mode: there is no second step to wait for
            lockout.clear_failures(user.get_username())
        return redirect(_next_url(request))
    status = 429 if form.locked_out else 200
    context = {"form": form, "next": _next_url(request)}
    return render(request, "registration/login.html", context, status=status)


@before_mfa
@require_POST
def logout(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        audit.record("auth.logout", request=request)
    # flush() deletes the session row, so the old cookie is worthless afterwards.
    auth_logout(request)
    return redirect("login")


def _complete_mfa(request: HttpRequest, device: TOTPDevice, action: str) -> None:
    django_otp.login(request, device)
    # The session just gained privileges: give it a new key, as at sign-in.
    request.session.cycle_key()
    # Only now, with both steps done, are earlier failed attempts forgiven.
    lockout.clear_failures(request.user.get_username())
    audit.record(action, request=request, detail={"mfa_method": "totp"})


@before_mfa
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_verify(request: HttpRequest) -> HttpResponse:
    """Ask for a code from the user's confirmed authenticator app."""
    if mfa_satisfied(request):
        return redirect(_next_url(request))
    devices = list(TOTPDevice.objects.filter(user=request.user, confirmed=True))
    if not devices:
        return redirect(_with_next("mfa-enrol", request))
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = _first_accepting(devices, form.cleaned_data["code"])
        if device is not None:
            _complete_mfa(request, device, "auth.mfa.verify")
            return redirect(_next_url(request))
        audit.record("auth.mfa.verify", request=request, outcome="failure")
        form.add_error("code", INVALID_CODE)
    return render(request, "accounts/mfa_verify.html", {"form": form, "next": _next_url(request)})


def _first_accepting(devices: list[TOTPDevice], code: str) -> TOTPDevice | None:
    # verify_token enforces django-otp's throttling and refuses a code already used
    # (it remembers the last accepted time step), so a seen code cannot be replayed.
    for device in devices:
        with transaction.atomic():
            locked = TOTPDevice.objects.select_for_update().get(pk=device.pk)
            if locked.verify_token(code):
                return locked
    return None


@before_mfa
@never_cache
@require_http_methods(["GET", "POST"])
def mfa_enrol(request: HttpRequest) -> HttpResponse:
    """Set up an authenticator app: show its QR code and secret, confirm with a code.

    Only while the user has no confirmed app; adding or replacing one later needs the
    clinic admin to reset it, so a stolen password alone cannot attach a new app.
    """
    if TOTPDevice.objects.filter(user=request.user, confirmed=True).exists():
        return redirect(_with_next("mfa-verify", request))
    device = TOTPDevice.objects.filter(user=request.user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=request.user, name=DEVICE_NAME, confirmed=False)
    form = CodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["code"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            TOTPDevice.objects.filter(user=request.user, confirmed=False).delete()
            _complete_mfa(request, device, "auth.mfa.enrol")
            return redirect(_next_url(request))
        audit.record("auth.mfa.enrol", request=request, outcome="failure")
        form.add_error("code", INVALID_CODE)
    context = {
        "form": form,
        "next": _next_url(request),
        "qr_data_uri": segno.make(device.config_url, error="m").svg_data_uri(scale=5),
        "secret_groups": _grouped(base64.b32encode(device.bin_key).decode()),
    }
    return render(request, "accounts/mfa_enrol.html", context)


def _grouped(secret: str) -> str:
    """The secret in groups of four, easier to type into an app by hand."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
