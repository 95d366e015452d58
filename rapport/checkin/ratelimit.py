"""Per-IP and per-token request limits for check-in pages.

Counted by :mod:`rapport.security.ratelimit` in the database. Bucket names hold a keyed
hash of the IP address or link token, never the value.
"""

from __future__ import annotations

from django.conf import settings

from rapport.security.network import client_ip
from rapport.security.ratelimit import hit, keyed_bucket


def over_limit(request, token: str | None) -> bool:
    """Count this request against its IP (and token) and say whether a limit is exceeded."""
    buckets = [keyed_bucket("ip", client_ip(request) or "unknown")]
    limits = [settings.CHECKIN_RATE_PER_IP]
    if token is not None:
        buckets.append(keyed_bucket("token", token))
        limits.append(settings.CHECKIN_RATE_PER_TOKEN)
    return any(count > limit for count, limit in zip(hit(*buckets), limits, strict=True))
