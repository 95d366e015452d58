"""rapport reset_mfa USERNAME: remove a user's authenticator apps and end their sessions.

For a lost or replaced phone. The user sets up a new app at their next sign-in (after
their password). Audited as ``auth.mfa.reset``.
"""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.models import User
from rapport.security import audit


def end_sessions_of(user: User) -> int:
    """Delete every live session that belongs to ``user``; returns how many."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


class Command(BaseCommand):
    help = "Remove a user's authenticator apps and sign them out everywhere (lost phone)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, **options):
        user = User.objects.filter(username=options["username"]).first()
        if user is None:
            raise CommandError(f"no user with the username {options['username']!r}")
        with transaction.atomic():
            removed, _ = TOTPDevice.objects.filter(user=user).delete()
            sessions = end_sessions_of(user)
            audit.record(
                "auth.mfa.reset",
                obj=user,
                object_type="user",
                detail={"via": "command", "removed": removed, "count": sessions},
            )
        self.stdout.write(
            f"Removed {removed} authenticator app(s) and ended {sessions} session(s) of "
            f"{user.username}; they will set up a new app at their next sign-in."
        )
