"""JSON log lines (``RAPPORT_LOG_FORMAT=json``) and the request id they carry.

One JSON object per line -- time, level, logger, message, request id, and the traceback
when there is one -- for a log collector that parses lines. The message is the one the
plain format prints, after the same redaction filters (settings.LOGGING): a line never
gains a field the plain format would not show. Extra attributes a caller attaches to a
record (Django attaches the request to its ``django.request`` records) are left out on
purpose: a path may hold a check-in token.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

# The request id of the request this thread is answering ("" outside a request).
current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar(
    "rapport_request_id", default=""
)


class RequestIdMiddleware:
    """Makes the proxy's X-Request-ID available to every log line of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        # Imported here: logging loads this module's formatter before the apps are ready.
        from rapport.security.audit import request_id_of

        self.get_response = get_response
        self.request_id_of = request_id_of

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_request_id.set(self.request_id_of(request))
        try:
            return self.get_response(request)
        finally:
            current_request_id.reset(token)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = current_request_id.get() or _request_id_of_record(record)
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def _request_id_of_record(record: logging.LogRecord) -> str:
    """Django logs a 4xx/5xx response after the middleware has finished, with the request."""
    request = getattr(record, "request", None)
    if request is None:
        return ""
    from rapport.security.audit import request_id_of  # see RequestIdMiddleware

    return request_id_of(request)
