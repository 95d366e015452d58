"""The worker's heartbeat and the backup log, read by /readyz and ``rapport status``."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """When a worker last showed it was running; one row per worker host and process."""

    worker = models.CharField(max_length=200, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} at {self.beat_at:%Y-%m-%d %H:%M:%S}"


class BackupRun(models.Model):
    """A backup written by ``rapport backup create`` (the file itself lives elsewhere)."""

    created_at = models.DateTimeField(db_index=True)
    rows = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"backup of {self.rows} rows at {self.created_at:%Y-%m-%d %H:%M}"
