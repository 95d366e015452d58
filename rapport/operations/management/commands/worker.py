"""``rapport worker [--once]``: run every scheduled job (docs/operations.md)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rapport.operations.runner import run_forever, run_once


class Command(BaseCommand):
    help = "Run due jobs: check-in messages, insight refresh, audit anchoring and purge."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="run everything due once and exit (for cron)"
        )

    def handle(self, *args: Any, once: bool, **options: Any) -> None:
        if once:
            report = run_once()
            self.stdout.write(f"{report.jobs_run} jobs run")
        else:
            run_forever()
