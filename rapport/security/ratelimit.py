"""Request counts in fixed one-minute windows, kept in the database: every rate limit's.

Each count lives in a :class:`~rapport.security.models.RateLimitCounter` row per
(bucket, window), raised by one atomic ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``,
so every gunicorn worker and every app server sharing the database sees the same count
without a cache server. Callers name their buckets (``ip:...``, ``token:...``,
``api:...``) and decide what the counts mean: the check-in pages
(:mod:`rapport.checkin.ratelimit`) and the API (:mod:`rapport.api.ratelimit`) use this
one counter.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import random
import time

from django.conf import settings
from django.db import connection

from rapport.core import hotpath
from rapport.security.models import RateLimitCounter

WINDOW_SECONDS = 60
# Windows before the previous one are deleted by about one count in this many: cheap,
# and no scheduler is needed.
CLEANUP_ONE_IN = 500


def keyed_bucket(scope: str, value: str) -> str:
    """A bucket name for a secret or personal ``value`` (an IP address, a link token):
    a keyed hash of it, never the value itself."""
    digest = hmac.new(settings.SECRET_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()
    return f"{scope}:{digest[:40]}"


def window_of(now: float) -> int:
    """The number of the one-minute window that the Unix time ``now`` falls in."""
    return int(now // WINDOW_SECONDS)


def seconds_left(now: float) -> int:
    """Whole seconds until the window of ``now`` ends (at least 1): a ``Retry-After``."""
    return max(1, math.ceil((window_of(now) + 1) * WINDOW_SECONDS - now))


def hit(*buckets: str, now: float | None = None) -> list[int]:
    """Count one request in each bucket's current window; the windows' counts, in order.

    One statement (its own transaction when called outside one) for all buckets, so a
    bucket that many requests share, such as a clinic network's IP address, stays locked
    only for that statement.
    """
    if not buckets:
        raise ValueError("hit() needs at least one bucket")
    window = window_of(now if now is not None else time.time())
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
        drop_old_windows(window)
    return [int(counts[bucket]) for bucket in buckets]


def count_in(bucket: str, window: int) -> int:
    """How many requests ``bucket`` had in ``window`` (0 once the window is cleaned up)."""
    row = RateLimitCounter.objects.filter(bucket=bucket, window_start=window).first()
    return row.hits if row is not None else 0


def drop_old_windows(window: int) -> int:
    """Delete the counts of windows before the one preceding ``window``; how many."""
    deleted, _ = RateLimitCounter.objects.filter(window_start__lt=window - 1).delete()
    return deleted
