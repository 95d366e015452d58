"""Running the scheduled jobs: continuously (a django-q2 cluster) or once (for cron, tests).

Both paths use django-q2's own scheduler and queue. The scheduler locks the due schedule
rows while it turns them into queued tasks and moves their next run time, so two workers
never queue the same run; the queue hands each task to exactly one worker (an update that
only succeeds on the row's current lock value). Jobs that send messages are themselves
idempotent on top of that (``rapport.checkin.delivery`` claims each message row).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django_q.brokers import get_broker  # type: ignore[import-untyped]  # django-q2 ships no types
from django_q.cluster import Cluster  # type: ignore[import-untyped]  # django-q2 ships no types
from django_q.scheduler import scheduler  # type: ignore[import-untyped]  # django-q2 ships no types
from django_q.tasks import _sync  # type: ignore[import-untyped]  # django-q2 ships no types

from rapport.operations.heartbeat import record_heartbeat
from rapport.operations.jobs import install_schedules

logger = logging.getLogger("rapport.worker")


@dataclass
class OnceReport:
    jobs_run: int = 0


def run_once() -> OnceReport:
    """Queue whatever is due, run every queued job in this process, beat, and return."""
    install_schedules()
    broker = get_broker()
    scheduler(broker=broker)
    report = OnceReport()
    while tasks := broker.dequeue():
        for task_id, payload in tasks:
            # django-q2's in-process path: the same worker and result handling as the
            # cluster's, without forking processes.
            _sync(payload)
            broker.acknowledge(task_id)
            report.jobs_run += 1
    record_heartbeat()
    logger.info("worker --once finished: %d jobs run", report.jobs_run)
    return report


def run_forever() -> None:
    """Run a django-q2 cluster until SIGTERM or SIGINT; it beats through the heartbeat job."""
    install_schedules()
    record_heartbeat()
    broker = get_broker()
    # The cluster's own scheduler first runs after 30 seconds; queue what is due now.
    scheduler(broker=broker)
    cluster = Cluster(broker)
    cluster.start()
    # Cluster's own SIGTERM/SIGINT handlers stop the sentinel, which ends this wait.
    cluster.sentinel.join()
