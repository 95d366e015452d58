"""rapport demo: migrate, seed a synthetic clinic once, print the logins and serve."""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils import timezone

from rapport.checkin.delivery import schedule_due
from rapport.clinic.management.commands.synth import DEMO_PASSWORD
from rapport.clinic.models import Organisation
from rapport.env import env_str

DEMO_SLUG = "demo"


class Command(BaseCommand):
    help = "Run the synthetic demo clinic (never for real client data)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=300)
        parser.add_argument("--therapists", type=int, default=10)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--no-serve", action="store_true", help="prepare only")

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
            # As the scheduler (`rapport checkin send-due`, from cron) would have done:
            # sessions starting within the invitation window get their questionnaires
            # opened and their invitations queued, so the worklist has check-ins to show.
            # Nothing is sent until send-due runs (the demo's e-mail goes to the console).
            scheduled = schedule_due(timezone.now())
            self.stdout.write(f"Check-in messages queued for the next day's sessions: {scheduled}.")
        self.stdout.write(self.style.WARNING("DEMO - synthetic data only, never real client data."))
        address = env_str("RAPPORT_BIND", "127.0.0.1:8000")
        self.stdout.write(
            f"Log in at http://{address}/ with password '{DEMO_PASSWORD}' as:\n"
            "  therapist1 ... therapist10   (therapists: their own caseload)\n"
            "  supervisor1, supervisor2     (supervisors)\n"
            "  admin                        (clinic admin)\n"
            "  researcher                   (researcher)"
        )
        if not options["no_serve"]:
            call_command("serve")
