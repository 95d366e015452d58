"""The worker's heartbeat: written by the worker, read by the readiness checks."""

from __future__ import annotations

import datetime
import socket

from django.utils import timezone

from rapport.operations.models import WorkerHeartbeat


def worker_identity() -> str:
    """The host name: one row per server, however often cron starts ``worker --once``."""
    return socket.gethostname()[:200]


def record_heartbeat(now: datetime.datetime | None = None) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker=worker_identity(), defaults={"beat_at": now or timezone.now()}
    )


def latest_heartbeat() -> datetime.datetime | None:
    """When any worker last beat, or None when no worker ever ran."""
    latest = WorkerHeartbeat.objects.order_by("-beat_at").first()
    return latest.beat_at if latest else None
