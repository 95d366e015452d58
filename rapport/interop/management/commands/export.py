"""``rapport export research --out DIR`` and ``rapport export fhir RECORD_NUMBER``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.instruments import DefinitionError
from rapport.interop import context
from rapport.interop.research_export import ResearchExportError, export_research

FORMAT_CHOICES = {"csv": ("csv",), "parquet": ("parquet",), "both": ("csv", "parquet")}


class Command(BaseCommand):
    help = "De-identified research export, or one client's record as a FHIR R4 Bundle."

    def add_arguments(self, parser: CommandParser) -> None:
        kinds = parser.add_subparsers(dest="kind", required=True)
        research = kinds.add_parser("research", help="de-identified export of consented clients")
        research.add_argument("--out", type=Path, required=True, help="a new or empty folder")
        research.add_argument("--format", choices=list(FORMAT_CHOICES), default="both")
        dates = research.add_mutually_exclusive_group()
        dates.add_argument(
            "--date-shift",
            dest="date_mode",
            action="store_const",
            const="shift",
            help="shift each client's dates by a random number of days (default)",
        )
        dates.add_argument(
            "--year-only", dest="date_mode", action="store_const", const="year",
            help="keep only the year of every date",
        )  # fmt: skip
        fhir = kinds.add_parser("fhir", help="one client's record as a FHIR R4 Bundle (JSON)")
        fhir.add_argument("record_number")
        fhir.add_argument("--out", type=Path, help="file to write (default: stdout)")
        fhir.add_argument(
            "--identity",
            action="store_true",
            help="include the client's name, contacts and birth date (default: pseudonymous)",
        )
        for sub in (research, fhir):
            sub.add_argument("--org", help="organisation slug (needed if there are several)")

    def handle(self, *args: Any, kind: str, **options: Any) -> None:
        try:
            organisation = context.organisation(options["org"])
        except context.InteropError as error:
            raise CommandError(str(error)) from None
        if kind == "research":
            try:
                summary = export_research(
                    organisation,
                    options["out"],
                    formats=FORMAT_CHOICES[options["format"]],
                    date_mode=options["date_mode"] or "shift",
                    via="cli",
                )
            except ResearchExportError as error:
                raise CommandError(str(error)) from None
            self.stdout.write(
                f"exported {summary.clients} consented client(s), {summary.episodes} episode(s), "
                f"{summary.administrations} administration(s) to {summary.out_dir}: "
                f"{', '.join(sorted(summary.files))}"
            )
            return
        from rapport.interop.fhir_export import client_bundle

        try:
            bundle = client_bundle(
                options["record_number"],
                organisation,
                context.registry(),
                identity=options["identity"],
                via="cli",
            )
        except (context.InteropError, DefinitionError) as error:
            raise CommandError(str(error)) from None
        text = json.dumps(bundle, indent=2, ensure_ascii=False)
        if options["out"]:
            options["out"].write_text(text + "\n", encoding="utf-8")
            self.stderr.write(f"wrote {options['out']}")
        else:
            self.stdout.write(text)
