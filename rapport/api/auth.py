"""Bearer-token authentication for the API, and the scope check each operation makes.

The token stands in for its owner: :class:`TokenAuth` sets ``request.user`` to the owner,
so the access layer (``rapport.security.access``) scopes every query exactly as it would
for that person's signed-in session: a therapist's token sees that therapist's caseload.
Scopes only ever narrow that further. API views are marked public for the staff gate
(which is for browser sessions: sign-in + MFA) because this class authenticates them.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.security import HttpBearer

from rapport.api.models import ApiToken, Scope
from rapport.api.ratelimit import RateLimited, count_refusal, count_request
from rapport.api.tokens import usable_token

# Set on a request that came without a valid token: its address's Refusals, which the
# error handler uses to audit one entry per address and window instead of one per request.
REFUSALS_ATTRIBUTE = "rapport_api_refusals"


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rpt_...``; counts the request against the token's limit,
    or, without a valid token, against the client address's limit."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        api_token = super().__call__(request)
        if api_token is None:
            refusals = count_refusal(request)
            setattr(request, REFUSALS_ATTRIBUTE, refusals)
            if refusals.over_limit:
                raise RateLimited(refusals.retry_after, anonymous=True)
        return api_token

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        api_token = usable_token(token)
        if api_token is None:
            return None
        # Whatever session cookie came along, the API acts as the token's owner only.
        request.user = api_token.user
        count_request(api_token)
        return api_token


def require_scope(request: HttpRequest, scope: Scope) -> ApiToken:
    """The request's token, if it carries ``scope``; otherwise 403."""
    token: ApiToken = request.auth  # type: ignore[attr-defined]
    if not token.has_scope(scope):
        raise PermissionDenied(f"this token lacks the {scope.value!r} scope")
    return token
