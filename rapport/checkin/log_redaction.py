"""A logging filter that hides check-in tokens in log lines (e.g. ``Gone: /q/<token>/``).

Django logs every 4xx/5xx response with its path; a check-in path holds the link's
token, which must not reach logs (the token is a capability). Installed on the console
handler in ``settings.LOGGING``.
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"/q/[A-Za-z0-9_-]{8,}")
REDACTED = "/q/[token]"


def redact(text: str) -> str:
    return TOKEN_IN_PATH.sub(REDACTED, text)


class RedactCheckinTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        request = getattr(record, "request", None)
        if request is not None and TOKEN_IN_PATH.search(getattr(request, "path", "")):
            record.request = None  # the default handler would print the full path again
        return True
