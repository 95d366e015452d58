"""Response handling shared by every check-in page: headers, rate limit, language."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import decorator_from_middleware

from rapport.checkin import ratelimit
from rapport.checkin.answers import read_language
from rapport.security.access import public
from rapport.security.ratelimit import seconds_left

CHECKIN_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


class CheckinCsrfMiddleware(CsrfViewMiddleware):
    """Django's CSRF token check, accepting the ``Origin: null`` that no-referrer causes.

    Check-in pages send ``Referrer-Policy: no-referrer`` so the capability URL never
    leaks, and browsers then send ``Origin: null`` and no ``Referer`` with the pages' own
    POSTs, which Django's stock checks refuse. Here a ``null`` origin and a missing Referer
    are accepted; a foreign origin is still refused, and the CSRF token (cookie plus form
    field) is still required. The POSTs are authorised by the unguessable token in the
    path, not by a cookie, which is what CSRF attacks abuse.
    """

    def _origin_verified(self, request: HttpRequest) -> bool:
        return request.META.get("HTTP_ORIGIN") == "null" or super()._origin_verified(request)

    def _check_referer(self, request: HttpRequest) -> None:
        if request.META.get("HTTP_REFERER"):
            super()._check_referer(request)


checkin_csrf_protect = decorator_from_middleware(CheckinCsrfMiddleware)


def with_checkin_headers(response: HttpResponse) -> HttpResponse:
    for name, value in CHECKIN_HEADERS.items():
        response[name] = value
    return response


def checkin_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open a view to link holders (no staff sign-in), rate-limit it, add the headers.

    Over the limit, the view does not run: a friendly 429 page answers instead. CSRF is
    checked by :class:`CheckinCsrfMiddleware` in place of the site-wide middleware.
    """
    protected = checkin_csrf_protect(view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if ratelimit.over_limit(request, kwargs.get("token")):
            language = read_language([request.GET.get("lang")])
            with translation.override(language):
                response = render(request, "checkin/too_many.html", {"lang": language}, status=429)
            response["Retry-After"] = str(seconds_left(time.time()))
        else:
            response = protected(request, *args, **kwargs)
        return with_checkin_headers(response)

    wrapper.csrf_exempt = True  # type: ignore[attr-defined] - checked above instead
    return public(wrapper)


def closed_page(request: HttpRequest) -> HttpResponse:
    """The one page for used, revoked, expired and unknown links: same status and body.

    In the language the page was asked in, else the browser's, as every page before
    sign-in (never the link's client's: that would tell a real link from a guessed one).
    """
    language = read_language(
        [
            request.GET.get("lang"),
            request.POST.get("lang"),
            translation.get_language_from_request(request),
        ]
    )
    with translation.override(language):
        return render(request, "checkin/closed.html", {"lang": language}, status=410)
