"""rapport synth --seed N --clients N: generate a synthetic clinic into the database."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from rapport.clinic.models import AdministrationStatus, Organisation, Session
from rapport.clinic.synth_writer import ClinicExistsError, write_synthetic_clinic
from rapport.core.instruments import load_installed_instruments
from rapport.instruments import DefinitionError
from rapport.synth import SynthConfig

DEMO_PASSWORD = "rapport-demo"  # noqa: S105 - printed on purpose; synthetic data only


def instrument_registry():
    try:
        return load_installed_instruments()
    except DefinitionError as error:
        raise CommandError(str(error)) from error


class Command(BaseCommand):
    help = "Generate a deterministic synthetic clinic (never real client data)."

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--clients", type=int, default=300)
        parser.add_argument("--therapists", type=int, default=None)
        parser.add_argument("--org", default="demo", help="slug of the organisation to create")
        parser.add_argument("--name", default="Riverside Counselling (synthetic)")
        parser.add_argument(
            "--anchor",
            type=datetime.date.fromisoformat,
            default=None,
            help="the clinic's 'today' as YYYY-MM-DD (default: today)",
        )
        parser.add_argument("--password", default=DEMO_PASSWORD)
        parser.add_argument(
            "--username-prefix",
            default="",
            help="prefix for staff usernames, e.g. 'east.' (usernames are unique site-wide)",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        try:
            config = SynthConfig(
                seed=options["seed"],
                n_clients=options["clients"],
                n_therapists=options["therapists"],
                anchor=options["anchor"] or datetime.date.today(),
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        try:
            organisation = write_synthetic_clinic(
                config,
                instrument_registry(),
                slug=options["org"],
                name=options["name"],
                password=options["password"],
                username_prefix=options["username_prefix"],
                progress=not options["no_progress"],
            )
        except ClinicExistsError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {organisation.name} ({organisation.slug}): {config.n_clients} clients, "
                f"{config.therapists} therapists, seed {config.seed}."
            )
        )
        pending, overdue = open_checkin_counts(organisation)
        self.stdout.write(f"Check-ins open: {pending} pending, {overdue} overdue.")


def open_checkin_counts(organisation: Organisation) -> tuple[int, int]:
    """How many of the clinic's sessions have a check-in open: (still ahead, already passed)."""
    open_statuses = [AdministrationStatus.PENDING, AdministrationStatus.IN_PROGRESS]
    sessions = Session.objects.filter(
        episode__client__organisation=organisation, administrations__status__in=open_statuses
    ).distinct()
    now = timezone.now()
    return sessions.filter(scheduled_at__gte=now).count(), sessions.filter(
        scheduled_at__lt=now
    ).count()
