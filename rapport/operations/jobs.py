"""The jobs ``rapport worker`` runs on a schedule, and the schedule itself.

Each job is a plain function that django-q2 calls by its dotted path. The ``job``
decorator logs one line per run -- job name, duration, outcome -- and never client data:
outcomes are counts, and a failure is logged by its exception class only (the message of
an exception may quote a record). It also counts each run's duration and failure for
``/metrics`` (rapport.operations.metrics).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django_q.models import Schedule  # type: ignore[import-untyped]  # django-q2 ships no types

from rapport.operations import metrics

logger = logging.getLogger("rapport.worker")


def job(name: str) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Log the run of a job function that returns a short, data-free outcome."""

    def decorate(function: Callable[..., str]) -> Callable[..., str]:
        @functools.wraps(function)
        def run(*args: object) -> str:
            started = time.monotonic()
            try:
                outcome = function(*args)
            except Exception as error:
                seconds = time.monotonic() - started
                metrics.count_job(name, seconds, failed=True)
                logger.error("job %s failed after %.1f s: %s", name, seconds, type(error).__name__)
                raise
            seconds = time.monotonic() - started
            metrics.count_job(name, seconds, failed=False)
            logger.info("job %s done in %.1f s: %s", name, seconds, outcome)
            return outcome

        return run

    return decorate


@job("checkin-delivery")
def send_checkin_messages() -> str:
    """Invitations, reminders, retries and safety notices (``rapport checkin send-due``)."""
    from rapport.checkin.delivery import send_due

    report = send_due()
    return (
        f"scheduled {report.scheduled}, sent {report.sent}, retrying {report.retrying}, "
        f"failed {report.failed}, skipped {report.skipped}"
    )


@job("insights-refresh")
def refresh_insights() -> str:
    """Recompute every organisation's insight pages and their standard filtered views
    (``rapport insights refresh``)."""
    from rapport.clinic.models import Organisation
    from rapport.insights.snapshots import refresh_with_views

    organisations = list(Organisation.objects.order_by("slug"))
    views = sum(refresh_with_views(organisation)[1] for organisation in organisations)
    return f"{len(organisations)} organisations refreshed, {views} filtered views precomputed"


@job("insights-views")
def precompute_insight_views(snapshot_id: int) -> str:
    """Store the standard filtered views beside a snapshot computed by "Refresh now"
    (queued by :func:`queue_insight_views`; the hourly refresh stores its own)."""
    from rapport.insights.models import InsightSnapshot
    from rapport.insights.snapshots import precompute_views

    snapshot = (
        InsightSnapshot.objects.select_related("organisation")
        .defer("data", "profiles", "released")
        .filter(pk=snapshot_id)
        .first()
    )
    if snapshot is None:
        return "skipped: the snapshot has been replaced"
    return f"{precompute_views(snapshot)} filtered views precomputed"


def queue_insight_views(snapshot) -> None:
    """Have the worker store ``snapshot``'s standard filtered views once the current
    transaction commits: "Refresh now" recomputes the clinic while its user waits, and
    the views the pages link to would otherwise be computed on first visit until the
    next hourly refresh."""
    from django_q.tasks import async_task  # type: ignore[import-untyped]

    transaction.on_commit(
        lambda: async_task(
            f"{precompute_insight_views.__module__}.{precompute_insight_views.__name__}",
            snapshot.pk,
            task_name=f"insights-views-{snapshot.pk}",
        )
    )


@job("audit-anchor")
def anchor_audit_trail() -> str:
    """Append the audit chain's ends to the anchor file (``rapport audit anchor``)."""
    from rapport.security import audit

    path = audit.anchor_path()
    if path is None:
        return "skipped: no AUDIT_ANCHOR_FILE configured"
    try:
        lines = audit.write_anchor(path)
    except audit.AuditChainError:
        # Only raised for an empty trail; a fresh installation has nothing to anchor yet.
        return "skipped: the audit trail is empty"
    return f"{len(lines)} lanes anchored"


@job("audit-purge")
def purge_audit_trail() -> str:
    """Remove audit entries past the retention period (``rapport audit purge``)."""
    from rapport.security import audit

    result = audit.purge_expired()
    return f"removed {result.removed} entries"


# Failed tasks keep their traceback (which may quote a record) beside the data; django-q2
# bounds the successes it keeps ("save_limit") but never the failures.
FAILED_TASKS_KEPT_DAYS = 30


@job("worker-history-purge")
def purge_failed_tasks() -> str:
    """Remove failed-task records older than ``FAILED_TASKS_KEPT_DAYS``."""
    import datetime

    from django.utils import timezone
    from django_q.models import Failure

    cutoff = timezone.now() - datetime.timedelta(days=FAILED_TASKS_KEPT_DAYS)
    removed, _by_model = Failure.objects.filter(stopped__lt=cutoff).delete()
    return f"removed {removed} failed tasks"


@job("heartbeat")
def beat() -> str:
    """Show /readyz that scheduled jobs run: the heartbeat travels through the queue."""
    from rapport.operations.heartbeat import record_heartbeat

    record_heartbeat()
    return "beat"


@dataclass(frozen=True)
class ScheduledJob:
    """One schedule row: ``every_minutes`` or ``daily`` (once a day)."""

    name: str
    function: Callable[[], str]
    every_minutes: int | None = None

    @property
    def func_path(self) -> str:
        return f"{self.function.__module__}.{self.function.__name__}"


# Schedule names carry this prefix; other rows of django-q2's table are left alone.
SCHEDULE_PREFIX = "rapport:"
DAILY = None

SCHEDULED_JOBS: tuple[ScheduledJob, ...] = (
    ScheduledJob("checkin-delivery", send_checkin_messages, every_minutes=1),
    ScheduledJob("heartbeat", beat, every_minutes=1),
    ScheduledJob("insights-refresh", refresh_insights, every_minutes=60),
    ScheduledJob("audit-anchor", anchor_audit_trail, every_minutes=DAILY),
    ScheduledJob("audit-purge", purge_audit_trail, every_minutes=DAILY),
    ScheduledJob("worker-history-purge", purge_failed_tasks, every_minutes=DAILY),
)


def install_schedules() -> None:
    """Create or update the schedule rows of ``SCHEDULED_JOBS``; remove retired ones.

    Every worker calls this on start. A new schedule is due at once; an existing one
    keeps its next run time, so restarting a worker neither skips nor repeats a run.
    The table lock makes workers that start together install the rows one after the
    other instead of creating each one twice (SQLite's IMMEDIATE transactions already
    queue writers). It is EXCLUSIVE, not SHARE ROW EXCLUSIVE, because it must also wait
    for another worker's scheduler: that one locks schedule rows (``FOR UPDATE``) and
    then updates them, and a weaker table lock let the two wait on each other (a
    deadlock PostgreSQL broke by failing one worker).
    """
    from django.utils import timezone

    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {Schedule._meta.db_table} IN EXCLUSIVE MODE")
        names = []
        for scheduled in SCHEDULED_JOBS:
            name = SCHEDULE_PREFIX + scheduled.name
            names.append(name)
            if scheduled.every_minutes is DAILY:
                timing = {"schedule_type": Schedule.DAILY, "minutes": None}
            else:
                timing = {"schedule_type": Schedule.MINUTES, "minutes": scheduled.every_minutes}
            Schedule.objects.update_or_create(
                name=name,
                defaults={"func": scheduled.func_path, "repeats": -1, **timing},
                create_defaults={
                    "func": scheduled.func_path,
                    "repeats": -1,
                    "next_run": timezone.now(),
                    **timing,
                },
            )
        Schedule.objects.filter(name__startswith=SCHEDULE_PREFIX).exclude(name__in=names).delete()
