"""rapport insights refresh [--org SLUG]: recompute the cached insight pages."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from rapport.clinic.models import Organisation
from rapport.insights.snapshots import refresh


class Command(BaseCommand):
    help = "Recompute the insight pages of each organisation (or one) and cache them."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["refresh"])
        parser.add_argument("--org", help="organisation slug (default: every organisation)")

    def handle(self, *args, **options):
        organisations = Organisation.objects.order_by("slug")
        if options["org"]:
            organisations = organisations.filter(slug=options["org"])
            if not organisations.exists():
                raise CommandError(f"no organisation with slug {options['org']!r}")
        for organisation in organisations:
            snapshot = refresh(organisation)
            self.stdout.write(f"{organisation.slug}: insights computed in {snapshot.seconds:.1f} s")
