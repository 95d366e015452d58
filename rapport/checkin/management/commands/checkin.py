"""rapport checkin create RECORD_NUMBER [--org SLUG] | send-due [--now ISO-TIME]."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from rapport.checkin.delivery import send_due
from rapport.checkin.links import NoDueSessionError, active_episode, due_session, issue_link
from rapport.checkin.models import Channel
from rapport.clinic.models import Client, Organisation


class Command(BaseCommand):
    help = "Client check-ins: print a fresh link, or send due invitations and reminders."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="print a fresh link for a client's next due session")
        create.add_argument("record_number")
        create.add_argument("--org", help="organisation slug (needed when there are several)")
        send = sub.add_parser("send-due", help="schedule and send due invitations and reminders")
        send.add_argument(
            "--now", type=datetime.datetime.fromisoformat, help="pretend it is this time"
        )

    def handle(self, *args, **options):
        if options["action"] == "create":
            self._create(options["record_number"], options["org"])
        else:
            now = options["now"]
            if now is not None and timezone.is_naive(now):
                now = timezone.make_aware(now)
            report = send_due(now)
            self.stdout.write(
                f"scheduled {report.scheduled}, sent {report.sent}, retrying {report.retrying}, "
                f"failed {report.failed}, skipped {report.skipped}"
            )

    def _create(self, record_number: str, slug: str | None) -> None:
        organisations = Organisation.objects.all()
        if slug:
            organisations = organisations.filter(slug=slug)
            if not organisations.exists():
                raise CommandError(f"no organisation with slug {slug!r}")
        clients = list(
            Client.objects.filter(organisation__in=organisations, record_number=record_number)
        )
        if not clients:
            raise CommandError(f"no client with record number {record_number!r}")
        if len(clients) > 1:
            raise CommandError(f"{record_number!r} exists in several organisations; pass --org")
        try:
            session = due_session(active_episode(clients[0]))
        except NoDueSessionError as error:
            raise CommandError(str(error)) from None
        issued = issue_link(session, channel=Channel.CLI)
        self.stdout.write(issued.url)
        self.stderr.write(
            f"session {session.number} ({timezone.localtime(session.scheduled_at):%Y-%m-%d %H:%M}),"
            f" closes {timezone.localtime(issued.link.expires_at):%Y-%m-%d %H:%M}"
        )
