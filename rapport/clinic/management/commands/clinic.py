"""``rapport clinic create SLUG --name NAME --admin USERNAME``: a new clinic and its admin.

``rapport clinic progress SLUG off|symptoms|symptoms_and_relationship``: what the clinic's
clients see of their own results after a check-in and in "review together"
(docs/client-feedback.md); audited.

The admin's password is asked for twice at the terminal (never on the command line,
where shell history and process lists would keep it); ``--password-stdin`` reads it from
standard input instead, for provisioning scripts.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rapport.clinic.models import ClientProgress, Organisation
from rapport.clinic.setup import ClinicSetupError, create_clinic
from rapport.security.rights import set_client_progress


class Command(BaseCommand):
    help = "Create a clinic (organisation, standard measurement plan, first clinic admin)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="a new clinic and its first clinic admin")
        create.add_argument("slug", help="short name used in commands, e.g. riverside")
        create.add_argument("--name", required=True, help="the clinic's name as staff see it")
        create.add_argument("--admin", required=True, help="username of the first clinic admin")
        create.add_argument("--email", default="", help="the admin's e-mail address")
        create.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the admin's password from standard input instead of prompting",
        )
        progress = actions.add_parser(
            "progress", help="what clients see of their own results (off by default)"
        )
        progress.add_argument("slug", help="the clinic's short name")
        progress.add_argument("choice", choices=ClientProgress.values)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "progress":
            organisation = Organisation.objects.filter(slug=options["slug"]).first()
            if organisation is None:
                raise CommandError(f"no clinic with the short name {options['slug']!r}")
            set_client_progress(organisation, options["choice"])
            self.stdout.write(
                f"{organisation.name}: clients now see "
                f"{ClientProgress(options['choice']).label.lower()}."
            )
            return
        password = _password(options["password_stdin"])
        try:
            organisation, admin = create_clinic(
                options["slug"],
                options["name"],
                admin_username=options["admin"],
                admin_password=password,
                admin_email=options["email"],
            )
        except ClinicSetupError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Created {organisation.name} ({organisation.slug}) with its standard measurement "
            f"plan, and the clinic admin {admin.username}. Sign in as {admin.username}: the "
            "first sign-in sets up an authenticator app, then Staff adds everyone else."
        )


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise CommandError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise CommandError("no terminal to ask for the password: use --password-stdin")
    password = getpass.getpass("Password for the clinic admin: ")
    if password != getpass.getpass("The same password again: "):
        raise CommandError("the two passwords did not match; nothing was created")
    return password
