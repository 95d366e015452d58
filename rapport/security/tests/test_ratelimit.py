"""The one request counter behind every rate limit: shared through the database."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from rapport.security import ratelimit
from rapport.security.models import RateLimitCounter
from rapport.testing import run_in_threads


def requires_postgresql() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is one shared in-memory connection; threads test PG")


@pytest.mark.django_db
def test_counts_per_bucket_and_window():
    assert [ratelimit.hit("ip:x", now=120.0) for _ in range(3)] == [[1], [2], [3]]
    assert ratelimit.hit("ip:x", "token:y", now=121.0) == [4, 1]
    assert ratelimit.hit("ip:x", now=185.0) == [1]  # the next window
    assert RateLimitCounter.objects.get(bucket="ip:x", window_start=2).hits == 4


@pytest.mark.django_db
def test_a_count_needs_a_bucket():
    with pytest.raises(ValueError, match="at least one bucket"):
        ratelimit.hit(now=120.0)


@pytest.mark.parametrize(
    ("now", "left"), [(120.0, 60), (149.5, 31), (179.2, 1), (179.99, 1), (180.0, 60)]
)
def test_seconds_left_in_the_window(now, left):
    assert ratelimit.seconds_left(now) == left


@pytest.mark.django_db
def test_windows_before_the_previous_one_are_dropped():
    for now in (0.0, 60.0, 120.0, 180.0):
        ratelimit.hit("api:1", now=now)
    assert ratelimit.drop_old_windows(ratelimit.window_of(180.0)) == 2
    assert sorted(RateLimitCounter.objects.values_list("window_start", flat=True)) == [2, 3]


@pytest.mark.django_db
def test_counting_now_and_then_drops_old_windows(monkeypatch):
    ratelimit.hit("api:1", now=0.0)
    monkeypatch.setattr(ratelimit.random, "randrange", lambda n: 0)  # this count cleans up
    ratelimit.hit("api:1", now=600.0)
    assert list(RateLimitCounter.objects.values_list("window_start", flat=True)) == [10]


def test_keyed_buckets_hide_the_value_and_differ_by_scope():
    ip = ratelimit.keyed_bucket("ip", "198.51.100.7")
    assert ip.startswith("ip:") and "198.51.100.7" not in ip
    assert ratelimit.keyed_bucket("ip", "198.51.100.7") == ip
    assert ratelimit.keyed_bucket("token", "198.51.100.7").split(":")[1] == ip.split(":")[1]
    assert ratelimit.keyed_bucket("ip", "198.51.100.8") != ip


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
