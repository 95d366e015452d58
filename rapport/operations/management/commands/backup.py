"""``rapport backup create --out FILE | verify FILE | restore FILE`` (docs/operations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.env import ConfigurationError
from rapport.operations import backups


class Command(BaseCommand):
    help = "Encrypted backups: create a snapshot, verify a file, restore into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="write an encrypted snapshot")
        create.add_argument("--out", type=Path, required=True, help="new file to write")
        verify = actions.add_parser("verify", help="authenticate and read a backup file")
        verify.add_argument("file", type=Path)
        restore = actions.add_parser("restore", help="load a backup into an empty database")
        restore.add_argument("file", type=Path)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            if action == "create":
                summary = backups.create(options["out"])
                self.stdout.write(f"wrote {summary.total} rows to {options['out']}")
            elif action == "verify":
                summary = backups.verify(options["file"])
                self.stdout.write(
                    f"{options['file']}: authentic, {summary.total} rows,"
                    f" taken {summary.created_at}"
                )
            else:
                summary = backups.restore(options["file"])
                self.stdout.write(f"restored {summary.total} rows from {summary.created_at}")
        except (backups.BackupError, ConfigurationError, FileNotFoundError) as error:
            raise CommandError(str(error)) from None
