"""Response handling shared by every check-in page: headers, rate limit, language."""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation

from rapport.checkin import ratelimit
from rapport.checkin.answers import read_language
from rapport.security.access import public

CHECKIN_HEADERS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def with_checkin_headers(response: HttpResponse) -> HttpResponse:
    for name, value in CHECKIN_HEADERS.items():
        response[name] = value
    return response


def checkin_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open a view to link holders (no staff sign-in), rate-limit it, add the headers.

    Over the limit, the view does not run: a friendly 429 page answers instead.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if ratelimit.over_limit(request, kwargs.get("token")):
            language = read_language([request.GET.get("lang")])
            with translation.override(language):
                response = render(request, "checkin/too_many.html", {"lang": language}, status=429)
            response["Retry-After"] = str(ratelimit.WINDOW_SECONDS)
        else:
            response = view(request, *args, **kwargs)
        return with_checkin_headers(response)

    return public(wrapper)


def closed_page(request: HttpRequest) -> HttpResponse:
    """The one page for used, revoked, expired and unknown links: same status and body."""
    language = read_language([request.GET.get("lang"), request.POST.get("lang")])
    with translation.override(language):
        return render(request, "checkin/closed.html", {"lang": language}, status=410)
