"""Prometheus metrics: what Rapport counts, and the scrape at ``/metrics``.

Two kinds of metric:

- **counted in the process** (request latency, check-ins submitted, messages sent and
  failed, worker job durations and failures), with ``prometheus_client``. gunicorn runs
  several processes and the worker is another one, so with ``PROMETHEUS_MULTIPROC_DIR``
  set every process writes its counts to files in that folder and a scrape adds them up
  (prometheus_client's multiprocess mode). Without it, a scrape sees only the counts of
  the process that answers it: right for a single-process server, wrong for several.
- **read from the database at scrape time** (open alerts by kind and age, each job's
  last success), so they are right whichever server answers and wherever the worker runs.

Labels hold names only -- a view's route name, a channel, a message kind, a job name --
never a path, an id, a token or anything typed by a person.
"""

from __future__ import annotations

import datetime
import hmac
import ipaddress
import logging
import os
import time
from collections.abc import Callable, Iterable
from enum import Enum

from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from rapport.security.network import client_ip

logger = logging.getLogger(__name__)

MULTIPROCESS_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"

REQUEST_DURATION = Histogram(
    "rapport_http_request_duration_seconds",
    "Time to answer a request, by view (route name), method and status class.",
    ["view", "method", "status"],
)
CHECKINS_SUBMITTED = Counter(
    "rapport_checkins_submitted",
    "Check-ins stored, by the channel of the link they came through.",
    ["channel"],
)
MESSAGES_SENT = Counter(
    "rapport_messages_sent",
    "Invitations, reminders and safety notices handed to the mail server or SMS sender.",
    ["kind", "channel"],
)
MESSAGES_FAILED = Counter(
    "rapport_messages_failed",
    "Failed send attempts; final=true when the message was given up (no more retries).",
    ["kind", "channel", "final"],
)
JOB_DURATION = Histogram(
    "rapport_worker_job_duration_seconds",
    "Run time of the worker's jobs, failed runs included.",
    ["job"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800),
)
JOB_FAILURES = Counter(
    "rapport_worker_job_failures",
    "Runs of a worker job that ended with an exception.",
    ["job"],
)

# Only these methods get a label of their own: anything else a client sends is "other",
# so nobody can grow the label set by inventing methods.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNRESOLVED_VIEW = "unresolved"


# The ``kind`` of a safety notice; check-in messages use their own kind (invitation, reminder).
SAFETY_NOTICE_KIND = "safety_notice"


def count_request(request: HttpRequest, status_code: int, seconds: float) -> None:
    match = request.resolver_match
    view = match.view_name if match is not None else UNRESOLVED_VIEW
    method = request.method if request.method in _METHODS else "other"
    REQUEST_DURATION.labels(view, method, f"{status_code // 100}xx").observe(seconds)


def count_checkin_submitted(channel: str) -> None:
    CHECKINS_SUBMITTED.labels(channel).inc()


def count_message(kind: str, channel: str, *, sent: bool, final: bool = False) -> None:
    if sent:
        MESSAGES_SENT.labels(kind, channel).inc()
    else:
        MESSAGES_FAILED.labels(kind, channel, "true" if final else "false").inc()


def count_job(job: str, seconds: float, *, failed: bool) -> None:
    JOB_DURATION.labels(job).observe(seconds)
    if failed:
        JOB_FAILURES.labels(job).inc()


class RequestMetricsMiddleware:
    """Times every request that reaches Django's URL routing (static files do not)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        count_request(request, response.status_code, time.perf_counter() - started)
        return response


# --- Read from the database at scrape time ---

# Upper bounds of the age buckets of open alerts, and their labels; the last is open-ended.
ALERT_AGE_BUCKETS: tuple[tuple[str, datetime.timedelta | None], ...] = (
    ("0-1h", datetime.timedelta(hours=1)),
    ("1-4h", datetime.timedelta(hours=4)),
    ("4-24h", datetime.timedelta(hours=24)),
    ("1-7d", datetime.timedelta(days=7)),
    ("7d+", None),
)


def open_alerts_by_age(now: datetime.datetime) -> dict[tuple[str, str], int]:
    """Unacknowledged alerts of the whole installation, by (kind, age bucket): counts only."""
    from rapport.checkin.models import Alert, AlertKind

    aggregates = {}
    younger_than: datetime.datetime | None = None
    for label, upper in ALERT_AGE_BUCKETS:
        condition = Q()
        if upper is not None:
            condition &= Q(raised_at__gt=now - upper)
        if younger_than is not None:
            condition &= Q(raised_at__lte=younger_than)
        younger_than = now - upper if upper is not None else None
        aggregates[label] = Count("pk", filter=condition)
    rows = (
        Alert.objects.filter(acknowledged_at__isnull=True)
        .values("kind")
        .annotate(**{f"age_{index}": value for index, value in enumerate(aggregates.values())})
    )
    counts = {(kind, label): 0 for kind in AlertKind.values for label, _ in ALERT_AGE_BUCKETS}
    for row in rows:
        for index, (label, _) in enumerate(ALERT_AGE_BUCKETS):
            counts[(row["kind"], label)] = row[f"age_{index}"]
    return counts


def last_job_successes() -> dict[str, datetime.datetime]:
    """When each scheduled job last finished without an exception (django-q2's task rows)."""
    from django_q.models import Success  # type: ignore[import-untyped]  # no types shipped

    from rapport.operations.jobs import SCHEDULE_PREFIX

    rows = (
        Success.objects.filter(group__startswith=SCHEDULE_PREFIX)
        .values("group")
        .annotate(last=Max("stopped"))
    )
    return {row["group"].removeprefix(SCHEDULE_PREFIX): row["last"] for row in rows}


class DatabaseCollector:
    """Gauges computed from the database when Prometheus scrapes."""

    def collect(self) -> Iterable[Metric]:
        alerts = GaugeMetricFamily(
            "rapport_alerts_open",
            "Unacknowledged alerts, by kind (critical_item is the safety tier) and age.",
            labels=["kind", "age"],
        )
        successes = GaugeMetricFamily(
            "rapport_worker_job_last_success_timestamp_seconds",
            "When each worker job last finished without an exception (Unix time).",
            labels=["job"],
        )
        reachable = GaugeMetricFamily(
            "rapport_metrics_database_up",
            "1 when the database answered this scrape's queries, 0 when it did not.",
        )
        try:
            for (kind, age), count in open_alerts_by_age(timezone.now()).items():
                alerts.add_metric([kind, age], count)
            for job, finished in last_job_successes().items():
                successes.add_metric([job], finished.timestamp())
        except DatabaseError as error:
            # A scrape still returns the counted metrics; the gauge says what is missing.
            logger.warning("metrics: database gauges unavailable: %s", type(error).__name__)
            reachable.add_metric([], 0)
            return [reachable]
        reachable.add_metric([], 1)
        return [alerts, successes, reachable]


class _ThisProcess:
    """The default registry's metrics (this process only), as one collector."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_DIR_VARIABLE) or None


def scrape_registry(*, database: bool = True) -> CollectorRegistry:
    """What one scrape reports: every process's counts (or this one's), and the gauges."""
    registry = CollectorRegistry(auto_describe=False)
    folder = multiprocess_dir()
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        registry.register(_ThisProcess())
    if database:
        registry.register(DatabaseCollector())
    return registry


def exposition() -> bytes:
    return generate_latest(scrape_registry())


# --- Who may scrape ---


class ScrapeDecision(Enum):
    NOT_CONFIGURED = 404
    ALLOWED = 200
    NEEDS_TOKEN = 401
    REFUSED = 403


def scrape_decision(request: HttpRequest) -> ScrapeDecision:
    """A bearer token or an allowed network (the real client address) lets a scraper in."""
    token: str = settings.METRICS_TOKEN
    networks: list[str] = settings.METRICS_ALLOWED_NETWORKS
    if not token and not networks:
        return ScrapeDecision.NOT_CONFIGURED
    address = client_ip(request)
    if address is not None and networks:
        ip = ipaddress.ip_address(address)
        if any(ip in ipaddress.ip_network(network, strict=False) for network in networks):
            return ScrapeDecision.ALLOWED
    header = request.headers.get("Authorization", "")
    if not token:
        return ScrapeDecision.REFUSED
    if not header:
        return ScrapeDecision.NEEDS_TOKEN
    scheme, _, offered = header.partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode()):
        return ScrapeDecision.ALLOWED
    return ScrapeDecision.REFUSED
