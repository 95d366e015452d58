"""Passwords people choose themselves: replacing a temporary one, changing one's own,
and a forgotten one by e-mail.

None of these signs anyone past the second step: after a new password, sign-in still
asks for the authenticator code (or sets up a new app after an MFA reset).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.tokens import default_token_generator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlencode, urlsafe_base64_decode, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from rapport.accounts.forms import ForgotPasswordForm, NewPasswordForm
from rapport.accounts.models import User
from rapport.accounts.notices import send_notice
from rapport.accounts.passwords import (
    choose_password,
    end_password_choice,
    user_choosing_password,
)
from rapport.accounts.views import _next_url
from rapport.security import audit, ratelimit
from rapport.security.access import public
from rapport.security.network import client_ip

# Reset-link requests per minute that lead to an e-mail: per address asked for (so one
# colleague's inbox cannot be flooded) and per requesting network address.
RESET_REQUESTS_PER_EMAIL = 3
RESET_REQUESTS_PER_IP = 10
# The link, once opened, moves into the session so that the token does not linger in
# the address bar, the history or a Referer header (as Django's own reset view does).
RESET_SESSION_KEY = "rapport_password_reset"


@public
@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_choose(request: HttpRequest) -> HttpResponse:
    """Replace a temporary password (one a clinic admin set) with one's own, then sign in."""
    user = user_choosing_password(request)
    if user is None:
        end_password_choice(request)
        return redirect("login")
    form = NewPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        choose_password(user, form.cleaned_data["new_password1"], via="temporary", request=request)
        end_password_choice(request)
        # Only now a session: with a password nobody else knows. MFA comes next.
        auth_login(request, user)
        return redirect(_next_url(request))
    return render(
        request, "accounts/password_choose.html", {"form": form, "next": _next_url(request)}
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@never_cache
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """A signed-in member (both steps done) changes their own password.

    Their other sessions end (their session hash changes); this one stays signed in.
    """
    form = PasswordChangeForm(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if form.is_valid():
            choose_password(
                request.user, form.cleaned_data["new_password1"], via="self", request=request
            )
            update_session_auth_hash(request, request.user)
            messages.success(request, _("Your password was changed."))
            return redirect("home")
        audit.record("auth.password.change", request=request, outcome="failure")
    return render(request, "accounts/password_change.html", {"form": form})


def _reset_link(user: User) -> str:
    query = urlencode(
        {
            "u": urlsafe_base64_encode(force_bytes(user.pk)),
            "t": default_token_generator.make_token(user),
        }
    )
    return f"{settings.SITE_URL}{reverse('password-reset')}?{query}"


def _too_many_requests(request: HttpRequest, email: str) -> bool:
    per_email, per_ip = ratelimit.hit(
        ratelimit.keyed_bucket("pwreset-email", email.casefold()),
        ratelimit.keyed_bucket("pwreset-ip", client_ip(request) or "unknown"),
    )
    return per_email > RESET_REQUESTS_PER_EMAIL or per_ip > RESET_REQUESTS_PER_IP


@public
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_forgot(request: HttpRequest) -> HttpResponse:
    """Ask for a reset link by e-mail. The answer never says whether an account exists."""
    enabled = settings.PASSWORD_RESET_BY_EMAIL
    form = ForgotPasswordForm(request.POST if request.method == "POST" and enabled else None)
    context = {"form": form, "enabled": enabled, "sent": False}
    if request.method == "POST" and form.is_valid():
        if _too_many_requests(request, form.cleaned_data["email"]):
            audit.record(
                "auth.password.reset_request",
                request=request,
                outcome="denied",
                detail={"reason": "rate_limited"},
            )
            context["too_many"] = True
            return render(request, "accounts/password_forgot.html", context, status=429)
        hours = settings.PASSWORD_RESET_TIMEOUT // 3600
        for user in form.accounts():
            send_notice(
                [user],
                gettext_lazy("Reset your Rapport password"),
                "accounts/email/password_reset_link.txt",
                {"user": user, "link": _reset_link(user), "hours": hours},
            )
            audit.record(
                "auth.password.reset_request", request=request, obj=user, object_type="user"
            )
        context["sent"] = True
    return render(request, "accounts/password_forgot.html", context)


def _user_from_link(uidb64: str, token: str) -> User | None:
    try:
        pk = int(urlsafe_base64_decode(uidb64).decode())
    except (TypeError, ValueError, UnicodeDecodeError):
        return None
    user = User.objects.filter(pk=pk, is_active=True).first()
    if user is None or not default_token_generator.check_token(user, token):
        return None
    return user


@public
@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    """Choose a new password from an e-mailed link; sign-in afterwards still needs MFA.

    The token is Django's: it stops working once the password changes, or after
    ``PASSWORD_RESET_TIMEOUT``.
    """
    if "u" in request.GET and "t" in request.GET:
        request.session[RESET_SESSION_KEY] = [request.GET["u"], request.GET["t"]]
        return redirect("password-reset")
    uidb64, token = request.session.get(RESET_SESSION_KEY) or ("", "")
    user = _user_from_link(uidb64, token)
    if user is None:
        request.session.pop(RESET_SESSION_KEY, None)
        return render(request, "accounts/password_reset.html", {"form": None})
    form = NewPasswordForm(user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        choose_password(user, form.cleaned_data["new_password1"], via="email_link", request=request)
        request.session.pop(RESET_SESSION_KEY, None)
        messages.success(
            request,
            _(
                "Your password was changed. Sign in with it; the code from your authenticator "
                "app is still needed."
            ),
        )
        return redirect("login")
    return render(request, "accounts/password_reset.html", {"form": form})
