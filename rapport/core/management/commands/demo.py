"""rapport demo: migrate, seed a synthetic clinic once, fit its expected treatment
response, print the logins and serve."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand

from rapport.clinic.management.commands.synth import DEMO_PASSWORD
from rapport.clinic.models import Organisation
from rapport.core.instruments import instruments
from rapport.core.management.commands.serve import (
    default_bind,
    default_workers,
    prepared_server_argv,
)
from rapport.insights.etr import fit
from rapport.insights.models import ExpectedResponseFit
from rapport.workspace.records import flag_rules
from rapport.workspace.report_fonts import missing_packages
from rapport.workspace.titles import short_title

DEMO_SLUG = "demo"
# 400 clients give the expected-response fit more than the 100 usable completed episodes
# its percentile bands need (fewer fall back to reliable change, which flags only clients
# who got reliably worse), and every flag tier a client or more. The trust tier (low or
# falling trust with nothing more urgent) is the rarest; seed 2028 shows it (2026 did
# until relationship check-ins started at session 2, which changed the draws).
DEMO_CLIENTS = 400
DEMO_THERAPISTS = 10
DEMO_SEED = 2028
# How the fit is described on the console (rapport.psychometrics.fit_expected_response).
METHOD_NAMES = {
    "quantile_regression": "quantile regression",
    "reliable_change": "reliable-change fallback: too few episodes for percentile bands",
}


class Command(BaseCommand):
    help = "Run the synthetic demo clinic (never for real client data)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=DEMO_CLIENTS)
        parser.add_argument("--therapists", type=int, default=DEMO_THERAPISTS)
        parser.add_argument("--seed", type=int, default=DEMO_SEED)
        parser.add_argument("--no-serve", action="store_true", help="prepare only")
        parser.add_argument("--bind", default=default_bind(), help="host:port")

    def handle(self, *args, **options):
        call_command("migrate", interactive=False, verbosity=0)
        if Organisation.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write("The demo clinic is already seeded.")
        else:
            self.stdout.write("Seeding the synthetic demo clinic...")
            # The clinic comes with check-ins open (pending and overdue) for the worklist;
            # the worker started beside the server sends the invitations that are due
            # (the demo's e-mail goes to the console).
            call_command(
                "synth",
                seed=options["seed"],
                clients=options["clients"],
                therapists=options["therapists"],
                org=DEMO_SLUG,
                stdout=self.stdout,
            )
        self._fit_expected_response(Organisation.objects.get(slug=DEMO_SLUG))
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

    def _fit_expected_response(self, organisation: Organisation) -> None:
        """Fit the model the "not on track" flag needs, once: without it the flag is off.

        A real clinic fits it (``rapport etr fit``) once it has enough completed episodes;
        the synthetic clinic has them from the start.
        """
        instrument = instruments()[flag_rules().not_on_track_instrument]
        if ExpectedResponseFit.objects.filter(
            organisation=organisation, instrument_id=instrument.id
        ).exists():
            return
        started = time.monotonic()
        try:
            stored = fit(organisation, instrument)
        except ValueError as error:
            self.stdout.write(
                f"Expected treatment response not fitted ({error}): "
                'the "not on track" flag stays off until `rapport etr fit`.'
            )
            return
        self.stdout.write(
            f"Expected treatment response fitted for {short_title(instrument)} in "
            f"{time.monotonic() - started:.1f} s ({stored.n_episodes} completed episodes, "
            f"{METHOD_NAMES.get(stored.method, stored.method)}): "
            'the "not on track" flag is on.'
        )

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
