"""rapport demo: migrate, seed a synthetic clinic once, print the logins and serve."""

from __future__ import annotations

import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from rapport.checkin.delivery import schedule_due
from rapport.clinic.management.commands.synth import DEMO_PASSWORD
from rapport.clinic.models import Organisation
from rapport.core.management.commands.serve import (
    default_bind,
    default_workers,
    prepared_server_argv,
)
from rapport.workspace.report_fonts import missing_packages

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Run the synthetic demo clinic (never for real client data)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=300)
        parser.add_argument("--therapists", type=int, default=10)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--no-serve", action="store_true", help="prepare only")
        parser.add_argument("--bind", default=default_bind(), help="host:port")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if Organisation.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write("The demo clinic is already seeded.")
        else:
            self.stdout.write("Seeding the synthetic demo clinic...")
            call_command(
                "synth",
                seed=options["seed"],
                clients=options["clients"],
                therapists=options["therapists"],
                org=DEMO_SLUG,
            )
            # As the worker would within its first minute: sessions starting within the
            # invitation window get their questionnaires opened and their invitations
            # queued, so the worklist has check-ins to show. The worker started beside the
            # server sends them (the demo's e-mail goes to the console).
            scheduled = schedule_due(timezone.now())
            self.stdout.write(f"Check-in messages queued for the next day's sessions: {scheduled}.")
        self.stdout.write(self.style.WARNING("DEMO - synthetic data only, never real client data."))
        missing_fonts = missing_packages()
        if missing_fonts:
            # The demo runs; PDF reports print only the scripts the installed fonts cover.
            self.stdout.write(
                self.style.WARNING(
                    "PDF reports cannot print every script: install the fonts with "
                    f"'apt-get install {' '.join(missing_fonts)}' (docs/workspace.md)."
                )
            )
        address = options["bind"]
        self.stdout.write(
            f"Log in at http://{address}/ with password '{DEMO_PASSWORD}' as:\n"
            "  therapist1 ... therapist10   (therapists: their own caseload)\n"
            "  supervisor1, supervisor2     (supervisors)\n"
            "  admin                        (clinic admin)\n"
            "  researcher                   (researcher)"
        )
        if not options["no_serve"]:
            self._serve_with_worker(address)

    def _serve_with_worker(self, address: str) -> None:
        """Run the web server and ``rapport worker`` as children; stopping one stops both."""
        server_argv = prepared_server_argv(bind=address, workers=default_workers(), threads=4)
        # SIGTERM ends the demo like Ctrl+C does, through the clean-up below.
        signal.signal(signal.SIGTERM, _exit_on_signal)
        self.stdout.write(f"Serving Rapport at http://{address}/ with its worker (Ctrl+C stops)")
        self.stdout.flush()
        server = subprocess.Popen(server_argv)  # noqa: S603 - our own interpreter and module
        worker = subprocess.Popen([sys.executable, "-m", "rapport.cli", "worker"])
        try:
            while server.poll() is None and worker.poll() is None:
                try:
                    server.wait(timeout=1)
                except subprocess.TimeoutExpired:
                    continue
        except KeyboardInterrupt:
            pass
        finally:
            for child in (server, worker):
                if child.poll() is None:
                    child.terminate()
            for child in (server, worker):
                try:
                    child.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    child.kill()


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(0)
