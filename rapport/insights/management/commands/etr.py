"""rapport etr fit [--org SLUG] [--instrument phq9]: fit and store a new ETR version."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from rapport.clinic.models import Organisation
from rapport.core.instruments import instruments
from rapport.insights.etr import fit
from rapport.insights.reports import PRIMARY_OUTCOME


class Command(BaseCommand):
    help = "Fit the expected treatment response on each clinic's completed episodes (versioned)."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["fit"])
        parser.add_argument("--org", help="organisation slug (default: every organisation)")
        parser.add_argument("--instrument", default=PRIMARY_OUTCOME)

    def handle(self, *args, **options):
        registry = instruments()
        instrument = registry.get(options["instrument"])
        if instrument is None:
            raise CommandError(f"unknown instrument {options['instrument']!r}")
        organisations = Organisation.objects.order_by("slug")
        if options["org"]:
            organisations = organisations.filter(slug=options["org"])
            if not organisations.exists():
                raise CommandError(f"no organisation with slug {options['org']!r}")
        for organisation in organisations:
            try:
                stored = fit(organisation, instrument)
            except ValueError as error:
                raise CommandError(f"{organisation.slug}: {error}") from error
            self.stdout.write(
                f"{organisation.slug}: {instrument.id} version {stored.version} "
                f"({stored.method}, {stored.n_episodes} completed episodes)"
            )
