"""The check-in rate limit counts in the database, shared by every worker and thread."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import override_settings

from rapport.checkin import ratelimit
from rapport.checkin.models import RateLimitCounter
from rapport.checkin.tokens import new_token
from rapport.testing import run_in_threads


def requires_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is one shared in-memory connection; threads test PG")


@pytest.mark.django_db
def test_counters_are_unlogged_on_postgresql():
    requires_postgresql()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE relname = %s",
            [RateLimitCounter._meta.db_table],
        )
        assert cursor.fetchone() == ("u",)


@pytest.mark.django_db(transaction=True)
def test_every_hit_from_every_connection_is_counted_once():
    """Threads with their own connections stand in for gunicorn workers and threads."""
    requires_postgresql()
    threads, hits_each = 8, 25
    seen: list[int] = []
    barrier = threading.Barrier(threads)

    def hammer() -> None:
        barrier.wait()
        for _ in range(hits_each):
            seen.extend(ratelimit.hit("ip:shared", now=600.0))

    errors = run_in_threads(hammer, threads)
    assert errors == []
    # Each request saw its own count: none lost, none counted twice.
    assert sorted(seen) == list(range(1, threads * hits_each + 1))
    assert RateLimitCounter.objects.get(bucket="ip:shared").hits == threads * hits_each


@pytest.mark.django_db
@override_settings(CHECKIN_RATE_PER_IP=3, CHECKIN_RATE_PER_TOKEN=1000)
def test_the_per_ip_limit_applies_across_tokens(rf):
    request = rf.get("/", REMOTE_ADDR="198.51.100.7")
    verdicts = [ratelimit.over_limit(request, new_token()) for _ in range(4)]
    assert verdicts == [False, False, False, True]
