"""Request limits for the API, in the one-minute windows every limit shares.

Counted by :mod:`rapport.security.ratelimit` in the database, so every server process
shares the count. Requests with a valid token count against the token
(``RAPPORT_API_RATE_LIMIT`` per minute, ``settings.API_RATE_LIMIT``); requests without
one count against the client address (``RAPPORT_API_ANONYMOUS_RATE_LIMIT``,
``settings.API_ANONYMOUS_RATE_LIMIT``), before anything is audited, so that a flood of
refused requests cannot fill the append-only audit trail.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from rapport.api.models import ApiToken
from rapport.security.network import client_ip
from rapport.security.ratelimit import count_in, hit, keyed_bucket, seconds_left, window_of


class RateLimited(Exception):
    """The token has used up its requests for this window."""

    def __init__(self, retry_after: int, *, anonymous: bool = False):
        super().__init__(f"rate limit reached; retry after {retry_after} s")
        self.retry_after = retry_after
        self.anonymous = anonymous


@dataclass(frozen=True)
class Refusals:
    """Requests without a valid token from one client address: this window's count so
    far (this request included) and the previous window's total."""

    in_window: int
    in_previous_window: int
    retry_after: int

    @property
    def over_limit(self) -> bool:
        return self.in_window > settings.API_ANONYMOUS_RATE_LIMIT

    @property
    def first_in_window(self) -> bool:
        return self.in_window == 1


def count_request(token: ApiToken, *, now: datetime.datetime | None = None) -> None:
    """Count one request by ``token``; raise :class:`RateLimited` beyond the limit."""
    moment = (now or timezone.now()).timestamp()
    # Token ids are not secret, so the bucket names the id itself.
    (used,) = hit(f"api:{token.pk}", now=moment)
    if used > settings.API_RATE_LIMIT:
        raise RateLimited(seconds_left(moment))


def count_refusal(request, *, now: datetime.datetime | None = None) -> Refusals:
    """Count one request without a valid token against its client address."""
    moment = now.timestamp() if now is not None else time.time()
    bucket = keyed_bucket("api-anonymous", client_ip(request) or "unknown")
    (used,) = hit(bucket, now=moment)
    previous = count_in(bucket, window_of(moment) - 1) if used == 1 else 0
    return Refusals(used, previous, seconds_left(moment))
