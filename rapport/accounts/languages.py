"""Which language a staff page is written in: the member's own choice, once signed in.

Before sign-in (the sign-in, MFA-less password and reset pages) nobody is known yet, so
the page follows the browser's Accept-Language, as far as Rapport speaks it. After
sign-in every page, message and error page follows ``User.language``, which the member
sets on their settings page. Client pages are unaffected: they choose the client's
language themselves with ``translation.override`` inside their views.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

SUPPORTED = frozenset(code for code, _name in settings.LANGUAGES)


def staff_language(request: HttpRequest) -> str:
    """The language of this request's pages: the signed-in member's, else the browser's."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        chosen = getattr(user, "language", "")
        if chosen in SUPPORTED:
            return chosen
        return settings.LANGUAGE_CODE
    return translation.get_language_from_request(request)


class StaffLanguageMiddleware:
    """Activates :func:`staff_language` for the whole request (after authentication)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = staff_language(request)
        request.LANGUAGE_CODE = language
        with translation.override(language):
            response = self.get_response(request)
        # Anonymous pages differ by Accept-Language: caches must not mix them up.
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", language)
        return response
