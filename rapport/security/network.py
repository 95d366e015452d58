"""Where a request came from: the one rule every audit entry, lockout and rate limit uses."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings


def client_ip(request: Any) -> str | None:
    """The address the request came from, or None if it is not a valid IP address.

    Behind the clinic's TLS proxy (``RAPPORT_BEHIND_TLS_PROXY=1``) every request arrives
    from the proxy, so the last ``X-Forwarded-For`` entry (the one the proxy itself
    appended) is used; earlier entries are client-supplied and not trusted. Without a
    proxy the header is ignored entirely, because anyone can send it.
    """
    if request is None:
        return None
    candidate = request.META.get("REMOTE_ADDR", "")
    if settings.BEHIND_TLS_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            candidate = forwarded.split(",")[-1].strip()
    try:
        return ipaddress.ip_address(candidate).compressed
    except ValueError:
        return None
