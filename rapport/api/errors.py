"""One error shape for every API failure: ``{"error": {"code", "message", "details"}}``.

The handlers here turn the exceptions raised anywhere below a request (the access layer's
``Http404``/``PermissionDenied``, ninja's validation and authentication errors, the rate
limiter) into that shape, and write the request's one audit entry for the failure.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from rapport.api.auth import REFUSALS_ATTRIBUTE
from rapport.api.ratelimit import RateLimited
from rapport.api.request_audit import record_refusal, record_request

logger = logging.getLogger(__name__)


class ErrorBody(Schema):
    code: str
    message: str
    details: list[dict[str, Any]] | dict[str, Any] | None = None


class ErrorOut(Schema):
    error: ErrorBody


# The error statuses every operation documents in the OpenAPI document.
ERROR_RESPONSES: dict[int, type[Schema]] = dict.fromkeys((400, 401, 403, 404, 422, 429), ErrorOut)

CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    422: "invalid_request",
    429: "rate_limited",
    500: "server_error",
}


class ApiError(Exception):
    """An expected failure with its own status and message (e.g. 409 on a conflict)."""

    def __init__(self, status: int, message: str, details: Any = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, message: str, details: Any = None
) -> HttpResponse:
    outcome = "error" if status >= 500 else "failure" if status in (400, 409, 422) else "denied"
    refusals = getattr(request, REFUSALS_ATTRIBUTE, None)
    if refusals is not None:
        record_refusal(request, refusals, status_code=status)
    else:
        record_request(request, outcome=outcome, status_code=status)
    body = {"error": {"code": CODES.get(status, "error"), "message": message, "details": details}}
    return api.create_response(request, body, status=status)


def _validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Only where and what: pydantic's "input" and "ctx" may echo large or odd values.
    return [
        {"loc": [str(part) for part in error.get("loc", ())], "message": str(error.get("msg", ""))}
        for error in errors
    ]


def install_handlers(api: NinjaAPI) -> None:
    def unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
        response = error_response(
            api, request, 401, "send a valid, unexpired token as 'Authorization: Bearer <token>'"
        )
        response["WWW-Authenticate"] = 'Bearer realm="rapport"'
        return response

    def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
        sender = "from this address without a valid token" if exc.anonymous else "with this token"
        message = f"too many requests {sender}; retry after {exc.retry_after} s"
        response = error_response(api, request, 429, message)
        response["Retry-After"] = str(exc.retry_after)
        return response

    def forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
        message = str(exc) or "this token's role or scopes do not allow this request"
        return error_response(api, request, 403, message)

    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(api, request, 404, "no such record")

    def invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        details = _validation_details(list(exc.errors))
        return error_response(api, request, 422, "the request is not valid", details)

    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return error_response(api, request, exc.status_code, str(exc))

    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(api, request, exc.status, exc.message, exc.details)

    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API request failed", exc_info=exc)
        return error_response(api, request, 500, "internal error; the event was logged")

    api.add_exception_handler(AuthenticationError, unauthenticated)
    api.add_exception_handler(RateLimited, rate_limited)
    api.add_exception_handler(PermissionDenied, forbidden)
    api.add_exception_handler(Http404, not_found)
    api.add_exception_handler(ValidationError, invalid)
    api.add_exception_handler(HttpError, http_error)
    api.add_exception_handler(ApiError, api_error)
    api.add_exception_handler(Exception, server_error)
