"""Request-wide protections: the staff gate (sign-in + MFA), session timeouts, headers.

* :class:`StaffGateMiddleware` is default-deny: every view needs a signed-in user who
  finished the MFA step, unless the view is marked ``@public`` or ``@before_mfa``
  (:mod:`rapport.security.access`). New views are covered without doing anything.
* :class:`SessionTimeoutMiddleware` ends a session 15 minutes after the last request and
  12 hours after sign-in, whatever the activity, using timestamps kept in the session.
* :class:`SecurityHeadersMiddleware` adds the Content-Security-Policy, a
  Permissions-Policy and ``Cache-Control: no-store`` to every response Django builds.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, resolve_url
from django.utils.cache import patch_cache_control
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from rapport.security import audit
from rapport.security.access import BEFORE_MFA, PUBLIC, view_access

# --- Sign-in and MFA gate ---------------------------------------------------------------


def mfa_satisfied(request: HttpRequest) -> bool:
    """Whether the signed-in user may see staff pages: MFA done, or the demo waiver.

    The waiver exists only when ``settings.DEMO_MODE`` is on, and the base template then
    shows the permanent "demo, not for real client data" banner on every page.
    """
    user = request.user
    if not user.is_authenticated:
        return False
    if settings.DEMO_MODE:
        return True
    return bool(getattr(user, "is_verified", lambda: False)())


class StaffGateMiddleware:
    """Anonymous -> sign-in page; password only -> MFA page; unmarked views need both."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        access = view_access(view_func)
        if access == PUBLIC:
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        if access == BEFORE_MFA or mfa_satisfied(request):
            return None
        query = urlencode({"next": request.get_full_path()})
        return redirect(f"{resolve_url('mfa-verify')}?{query}")


# --- Session timeouts -------------------------------------------------------------------

SIGNED_IN_AT = "rapport_signed_in_at"
LAST_SEEN_AT = "rapport_last_seen_at"
IDLE_TIMEOUT_SECONDS = 15 * 60
ABSOLUTE_TIMEOUT_SECONDS = 12 * 60 * 60
# Saving the session on every request costs a write; a minute's resolution is plenty.
LAST_SEEN_RESOLUTION_SECONDS = 60


def start_session_clocks(session) -> None:
    """Called at every sign-in (signals.py)."""
    now = int(time.time())
    session[SIGNED_IN_AT] = now
    session[LAST_SEEN_AT] = now


def session_expiry_reason(session, now: float) -> str | None:
    """Why this signed-in session is over (``idle``, ``absolute``, ``no_clock``), or None."""
    signed_in_at = session.get(SIGNED_IN_AT)
    last_seen_at = session.get(LAST_SEEN_AT)
    if not isinstance(signed_in_at, int) or not isinstance(last_seen_at, int):
        return "no_clock"  # fail closed: a session we did not start is not trusted
    if now - signed_in_at >= ABSOLUTE_TIMEOUT_SECONDS:
        return "absolute"
    if now - last_seen_at >= IDLE_TIMEOUT_SECONDS:
        return "idle"
    return None


class SessionTimeoutMiddleware:
    """Sign out sessions that are idle for 15 minutes or older than 12 hours.

    Must come after the session, authentication and message middleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            reason = session_expiry_reason(request.session, now)
            if reason is not None:
                audit.record(
                    "auth.session_expired",
                    request=request,
                    outcome="denied",
                    detail={"reason": reason},
                )
                logout(request)
                messages.info(
                    request,
                    _("You were signed out to protect client information. Please sign in again."),
                )
            elif now - request.session[LAST_SEEN_AT] >= LAST_SEEN_RESOLUTION_SECONDS:
                request.session[LAST_SEEN_AT] = int(now)
        return self.get_response(request)


# --- Response headers -------------------------------------------------------------------

# No inline script or style anywhere, no third-party origin. data: images are allowed
# for the MFA QR code, which is an SVG data URI.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
    ]
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"


class SecurityHeadersMiddleware:
    """CSP, Permissions-Policy and no-store on every response Django itself builds.

    Placed after WhiteNoise, so static files (which carry no data) stay cacheable. A
    view may set a stricter header of its own; it is left alone.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # Pages may show client data: never keep them in a browser or proxy cache.
        patch_cache_control(response, no_store=True, private=True)
        return response
