"""``rapport audit verify|anchor|purge``: check and maintain the audit trail."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.security import audit

logger = logging.getLogger("rapport.audit")


class Command(BaseCommand):
    help = "Verify the audit chain, write an anchor outside the database, or purge old entries."
    # Verification must work even when the rest of the configuration is broken.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        verify = actions.add_parser("verify", help="recompute the chain; exit 1 on any problem")
        verify.add_argument(
            "--anchor-file", type=Path, help="anchor file to check (default: AUDIT_ANCHOR_FILE)"
        )
        anchor = actions.add_parser("anchor", help="append the chain end to the anchor file")
        anchor.add_argument("--anchor-file", type=Path)
        actions.add_parser("purge", help="remove entries older than AUDIT_RETENTION_DAYS")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        anchor_file = options.get("anchor_file") or audit.anchor_path()
        if action == "verify":
            self._verify(anchor_file)
        elif action == "anchor":
            if anchor_file is None:
                raise CommandError("no anchor file: pass --anchor-file or set AUDIT_ANCHOR_FILE")
            for line in audit.write_anchor(anchor_file):
                lane = f" of lane {line['lane']}" if "lane" in line else ""
                self.stdout.write(f"anchored entry #{line['seq']}{lane} in {anchor_file}")
        else:
            try:
                result = audit.purge_expired()
            except audit.AuditChainError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                f"removed {result.removed} entries older than {result.cutoff.isoformat()}"
                + (f" (through #{result.through_seq})" if result.through_seq else "")
            )

    def _verify(self, anchor_file: Path | None) -> None:
        try:
            result = audit.verify(anchor_file)
        except audit.AuditChainError as error:
            logger.error("audit verification failed: %s", error)
            raise CommandError(f"audit trail FAILED: {error}") from None
        if not result.ok:
            logger.error("%s", result)
            raise CommandError(str(result))
        logger.info("%s", result)
        self.stdout.write(str(result))
