"""rapport insights refresh [--org SLUG]: recompute the cached insight pages."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from rapport.clinic.models import Organisation
from rapport.insights.snapshots import refresh_with_views


class Command(BaseCommand):
    help = (
        "Recompute the insight pages of each organisation (or one) and the filtered views "
        "they link to, and store them."
    )

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
            started = time.perf_counter()
            snapshot, views = refresh_with_views(organisation)
            self.stdout.write(
                f"{organisation.slug}: insights computed in {snapshot.seconds:.1f} s; "
                f"{views} filtered views precomputed, {time.perf_counter() - started:.1f} s in all"
            )
