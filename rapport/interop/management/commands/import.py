"""``rapport import csv FILE [--dry-run]`` and ``rapport import fhir FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from rapport.instruments import DefinitionError
from rapport.interop import context
from rapport.interop.csv_import import CsvImport, ImportRefused, Problem
from rapport.security.csv_safety import safe_writer


class Command(BaseCommand):
    help = "Import historical results (CSV, docs/import.md) or FHIR resources (docs/fhir.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        formats = parser.add_subparsers(dest="format", required=True)
        csv_parser = formats.add_parser("csv", help="administrations from a CSV file")
        csv_parser.add_argument("file", type=Path)
        csv_parser.add_argument(
            "--dry-run", action="store_true", help="report every problem; change nothing"
        )
        csv_parser.add_argument("--report", type=Path, help="also write the problems as CSV")
        csv_parser.add_argument("--no-progress", action="store_true")
        fhir_parser = formats.add_parser("fhir", help="a Questionnaire, response or Bundle")
        fhir_parser.add_argument("file", type=Path)
        fhir_parser.add_argument(
            "--instruments-dir",
            type=Path,
            help="where an imported Questionnaire's definition is written "
            "(default: RAPPORT_INSTRUMENTS_DIR)",
        )
        for sub in (csv_parser, fhir_parser):
            sub.add_argument("--org", help="organisation slug (needed if there are several)")

    def handle(self, *args: Any, format: str, **options: Any) -> None:
        if not options["file"].is_file():
            raise CommandError(f"no file {options['file']}")
        try:
            organisation = context.organisation(options["org"])
            registry = context.registry()
        except (context.InteropError, DefinitionError) as error:
            raise CommandError(str(error)) from None
        if format == "csv":
            self._csv(CsvImport(options["file"], organisation, registry), options)
        else:
            from rapport.interop.fhir_import import import_fhir_file

            try:
                report = import_fhir_file(
                    options["file"],
                    organisation,
                    registry,
                    instruments_dir=options["instruments_dir"],
                    via="cli",
                )
            except context.InteropError as error:
                raise CommandError(str(error)) from None
            for line in report.lines():
                self.stdout.write(line)

    def _csv(self, importer: CsvImport, options: dict[str, Any]) -> None:
        rows = _data_lines(importer.path)
        with tqdm(total=rows, unit="row", disable=options["no_progress"]) as bar:
            if options["dry_run"]:
                problems = self._report(importer.problems(progress=bar.update), options["report"])
                bar.close()
                if problems:
                    raise CommandError(f"{problems} problem(s) found; nothing was imported")
                self.stdout.write(f"dry run: {rows} row(s), no problems; nothing was changed")
                return
            try:
                result = importer.run(via="cli", progress=bar.update)
            except ImportRefused as refused:
                bar.close()
                self._report(iter(refused.problems), options["report"])
                raise CommandError(
                    f"{refused.count} problem(s) found (run with --dry-run for the full "
                    "report); nothing was imported"
                ) from None
        self.stdout.write(
            f"imported {result.created} administration(s) from {result.rows} row(s); "
            f"{result.unchanged} already present; created {result.created_episodes} "
            f"episode(s) and {result.created_sessions} session(s)"
        )

    def _report(self, problems, report_path: Path | None) -> int:
        count = 0
        handle = report_path.open("w", encoding="utf-8", newline="") if report_path else None
        writer = safe_writer(handle) if handle else None
        if writer:
            writer.writerow(["row", "column", "problem", "message"])
        try:
            for problem in problems:
                count += 1
                self.stdout.write(_line(problem))
                if writer:
                    writer.writerow([problem.row, problem.column, problem.kind, problem.message])
        finally:
            if handle:
                handle.close()
        return count


def _line(problem: Problem) -> str:
    column = f", column {problem.column}" if problem.column else ""
    return f"row {problem.row}{column}: {problem.kind}: {problem.message}"


def _data_lines(path: Path) -> int:
    """Lines after the header, for the progress bar (quoted line breaks count extra)."""
    with path.open("rb") as handle:
        return max(0, sum(1 for _ in handle) - 1)
