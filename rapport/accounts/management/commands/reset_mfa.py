"""rapport reset_mfa USERNAME: remove a user's authenticator apps and end their sessions.

For a lost or replaced phone. The user sets up a new app at their next sign-in (after
their password). Audited as ``auth.mfa.reset``. A clinic admin can do the same from the
staff pages.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from rapport.accounts.models import User
from rapport.accounts.signout import reset_mfa


class Command(BaseCommand):
    help = "Remove a user's authenticator apps and sign them out everywhere (lost phone)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user with the username {options['username']!r}")
        reset = reset_mfa(user, via="command")
        self.stdout.write(
            f"Removed {reset.removed_apps} authenticator app(s) and ended "
            f"{reset.ended_sessions} session(s) of {user.username}; they will set up a new "
            "app at their next sign-in."
        )
