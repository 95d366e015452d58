"""Per-token request limits in fixed one-minute windows, counted in the database.

No cache server is needed and every server process shares the count. Settings:
``RAPPORT_API_RATE_LIMIT`` requests per token per minute (``settings.API_RATE_LIMIT``).
"""

from __future__ import annotations

import datetime
import math

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from rapport.api.models import ApiRateWindow, ApiToken

WINDOW = datetime.timedelta(minutes=1)
# Windows older than this are deleted now and then, keeping the table small.
KEEP_WINDOWS = datetime.timedelta(hours=1)


class RateLimited(Exception):
    """The token has used up its requests for this window."""

    def __init__(self, retry_after: int):
        super().__init__(f"rate limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


def window_start(now: datetime.datetime) -> datetime.datetime:
    return now.replace(second=0, microsecond=0)


def count_request(token: ApiToken, *, now: datetime.datetime | None = None) -> None:
    """Count one request by ``token``; raise :class:`RateLimited` beyond the limit."""
    now = now or timezone.now()
    start = window_start(now)
    with transaction.atomic():
        ApiRateWindow.objects.bulk_create(
            [ApiRateWindow(token=token, window_start=start)], ignore_conflicts=True
        )
        window = ApiRateWindow.objects.filter(token=token, window_start=start)
        window.update(count=F("count") + 1)
        used = window.values_list("count", flat=True).get()
    if used == 1:
        # First request of a window: a cheap moment to drop this token's old windows.
        ApiRateWindow.objects.filter(token=token, window_start__lt=start - KEEP_WINDOWS).delete()
    if used > settings.API_RATE_LIMIT:
        raise RateLimited(max(1, math.ceil((start + WINDOW - now).total_seconds())))
