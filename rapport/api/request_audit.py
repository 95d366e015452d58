"""The one audit entry each API request writes: ``api.read`` or ``api.write``.

Requests without a valid token are the exception: anyone can send them, so they write
one ``api.refused`` entry per client address and one-minute window (the first refusal),
carrying the previous window's count, rather than one each.

Reads of client identities are ``api.read_identity``, so that they stand out. Entries
carry the operation's URL name (never the raw path, which may hold anything a caller
typed), the method, the status and, for lists, the number of rows returned.
"""

from __future__ import annotations

from django.db.models import Model
from django.http import HttpRequest

from rapport.api.ratelimit import Refusals
from rapport.security import audit

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_AUDITED = "_rapport_api_audited"


def record_request(
    request: HttpRequest,
    *,
    outcome: str = "success",
    status_code: int = 200,
    obj: Model | None = None,
    object_type: str = "",
    count: int | None = None,
    identity: bool = False,
) -> None:
    """Audit this request once; a second call for the same request does nothing."""
    if getattr(request, _AUDITED, False):
        return
    setattr(request, _AUDITED, True)
    if identity:
        action = "api.read_identity"
    else:
        action = "api.read" if request.method in SAFE_METHODS else "api.write"
    match = getattr(request, "resolver_match", None)
    detail: dict = {
        "method": request.method if request.method in _KNOWN_METHODS else "other",
        "path": match.url_name if match is not None and match.url_name else "unknown",
        "status_code": status_code,
    }
    if count is not None:
        detail["count"] = count
    audit.record(
        action,
        request=request,
        obj=obj,
        object_type=object_type,
        outcome=outcome,
        detail=detail,
    )


def record_refusal(request: HttpRequest, refusals: Refusals, *, status_code: int) -> None:
    """Audit a request without a valid token, if it is its address's first in the window."""
    if getattr(request, _AUDITED, False):
        return
    setattr(request, _AUDITED, True)
    if not refusals.first_in_window:
        return
    match = getattr(request, "resolver_match", None)
    audit.record(
        "api.refused",
        request=request,
        outcome="denied",
        detail={
            "method": request.method if request.method in _KNOWN_METHODS else "other",
            "path": match.url_name if match is not None and match.url_name else "unknown",
            "status_code": status_code,
            "refusals_in_previous_window": refusals.in_previous_window,
        },
    )


_KNOWN_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"})
