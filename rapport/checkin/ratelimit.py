"""Per-IP and per-token request limits for check-in pages, counted in the database.

Fixed one-minute windows in :class:`~rapport.checkin.models.RateLimitCounter`, updated
with one atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` per bucket, so every
gunicorn worker (and every server sharing the database) sees the same counts without
Redis. Bucket names hold a keyed hash of the IP address or token, never the value.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import time

from django.conf import settings
from django.db import connection

from rapport.checkin.models import RateLimitCounter
from rapport.core import hotpath

WINDOW_SECONDS = 60
# Old windows are deleted by about one request in this many (cheap, no scheduler needed).
CLEANUP_ONE_IN = 500


def _bucket(scope: str, value: str) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"{scope}:{digest[:40]}"


def hit(*buckets: str, now: float | None = None) -> list[int]:
    """Count one request in each bucket's current window; the windows' counts, in order.

    One statement (its own transaction) for all buckets, so a per-IP bucket that every
    request from a clinic's network shares stays locked only for that statement.
    """
    window = int((now if now is not None else time.time()) // WINDOW_SECONDS)
    table = connection.ops.quote_name(RateLimitCounter._meta.db_table)
    rows = ", ".join(["(%s, %s, 1)"] * len(buckets))
    params = [value for bucket in buckets for value in (bucket, window)]
    with hotpath.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (bucket, window_start, hits) VALUES {rows} "  # noqa: S608
            f"ON CONFLICT (bucket, window_start) DO UPDATE SET hits = {table}.hits + 1 "
            "RETURNING bucket, hits",
            params,
        )
        counts = dict(cursor.fetchall())
    if random.randrange(CLEANUP_ONE_IN) == 0:  # noqa: S311 - not security relevant
        RateLimitCounter.objects.filter(window_start__lt=window - 1).delete()
    return [int(counts[bucket]) for bucket in buckets]


def client_ip(request) -> str:
    # REMOTE_ADDR only (as the audit trail does): X-Forwarded-For is client-controlled
    # unless a trusted proxy rewrites it.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def over_limit(request, token: str | None) -> bool:
    """Count this request against its IP (and token) and say whether a limit is exceeded."""
    buckets = [_bucket("ip", client_ip(request))]
    limits = [settings.CHECKIN_RATE_PER_IP]
    if token is not None:
        buckets.append(_bucket("token", token))
        limits.append(settings.CHECKIN_RATE_PER_TOKEN)
    return any(count > limit for count, limit in zip(hit(*buckets), limits, strict=True))
