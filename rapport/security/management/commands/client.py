"""``rapport client export|erase RECORD_NUMBER --org SLUG``: a client's data rights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.security import rights


class Command(BaseCommand):
    help = "Export everything stored about a client (JSON), or erase their identity."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        export = actions.add_parser("export", help="write the client's data as JSON")
        erase = actions.add_parser(
            "erase", help="destroy the client's identity, keeping pseudonymous scores"
        )
        for sub in (export, erase):
            sub.add_argument("record_number")
            sub.add_argument("--org", required=True, help="organisation slug")
        export.add_argument("--output", type=Path, help="file to write (default: stdout)")
        erase.add_argument(
            "--confirm", action="store_true", help="required: erasure cannot be undone"
        )

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        try:
            client = rights.find_client(options["record_number"], options["org"])
        except rights.ClientNotFoundError as error:
            raise CommandError(str(error)) from None
        if action == "export":
            text = json.dumps(rights.export_client(client, via="cli"), indent=2, ensure_ascii=False)
            if options["output"]:
                options["output"].write_text(text + "\n", encoding="utf-8")
                self.stderr.write(f"wrote {options['output']}")
            else:
                self.stdout.write(text)
            return
        if not options["confirm"]:
            raise CommandError("erasure cannot be undone; add --confirm to go ahead")
        rights.erase_client(client, via="cli")
        self.stdout.write(
            f"erased the identity of client {client.public_id}; "
            f"its record number is now {client.record_number}"
        )
