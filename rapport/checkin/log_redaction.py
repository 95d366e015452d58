"""A logging filter that hides check-in tokens and searches in log lines.

Django logs every 4xx/5xx response with its path; a check-in path holds the link's
token, which must not reach logs (the token is a capability). The caseload's search
(``?q=``) may hold a client's name, which must not reach logs either. Installed on the
console handler in ``settings.LOGGING``; gunicorn's access log uses :func:`redact` too.
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_PATH = re.compile(r"/q/[A-Za-z0-9_-]{8,}")
REDACTED = "/q/[token]"
# The search parameter, at the start of a query string or after another parameter.
SEARCH_IN_QUERY = re.compile(r"(^|[?&])q=[^&\s\"]*")


def redact(text: str) -> str:
    text = TOKEN_IN_PATH.sub(REDACTED, text)
    return SEARCH_IN_QUERY.sub(r"\1q=[search]", text)


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
