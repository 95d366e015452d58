"""``rapport status``: the readiness checks of /readyz, with details, for an operator."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.operations.readiness import readiness_checks


class Command(BaseCommand):
    help = "Print whether this instance is ready (database, migrations, keys, worker)."
    # Status must report a broken configuration rather than refuse to start.
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def handle(self, *args: Any, **options: Any) -> None:
        checks = readiness_checks()
        for check in checks:
            verdict = self.style.SUCCESS("ok     ") if check.ok else self.style.ERROR("FAILING")
            self.stdout.write(f"{verdict} {check.name:<11} {check.detail}")
        if not all(check.ok for check in checks):
            raise CommandError("not ready", returncode=1)
        self.stdout.write("ready")
