"""Per-token request limits for the API, in the one-minute windows every limit shares.

Counted by :mod:`rapport.security.ratelimit` in the database, so every server process
shares the count. Settings: ``RAPPORT_API_RATE_LIMIT`` requests per token per minute
(``settings.API_RATE_LIMIT``).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.utils import timezone

from rapport.api.models import ApiToken
from rapport.security.ratelimit import hit, seconds_left


class RateLimited(Exception):
    """The token has used up its requests for this window."""

    def __init__(self, retry_after: int):
        super().__init__(f"rate limit reached; retry after {retry_after} s")
        self.retry_after = retry_after


def count_request(token: ApiToken, *, now: datetime.datetime | None = None) -> None:
    """Count one request by ``token``; raise :class:`RateLimited` beyond the limit."""
    moment = (now or timezone.now()).timestamp()
    # Token ids are not secret, so the bucket names the id itself.
    (used,) = hit(f"api:{token.pk}", now=moment)
    if used > settings.API_RATE_LIMIT:
        raise RateLimited(seconds_left(moment))
