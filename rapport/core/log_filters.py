"""Log filters for ``django.request``.

Django attaches the exception to the log record of a 403 raised as ``PermissionDenied``,
so every ordinary refusal printed a full traceback: noise that buried real errors. A
client error (4xx) is an expected answer, logged in one line; server errors (5xx) keep
their traceback.
"""

from __future__ import annotations

import logging


class OneLineClientErrors(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and 400 <= status < 500:
            record.exc_info, record.exc_text = None, None
        return True
