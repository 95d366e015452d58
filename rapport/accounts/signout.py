"""Taking access away from a staff account at once: its sessions and its authenticator apps.

Used by ``rapport reset_mfa`` and the clinic admin's staff pages (a lost phone, a
deactivated account).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from rapport.accounts.models import User
from rapport.accounts.notices import send_notice
from rapport.accounts.passwords import invalidate_password
from rapport.security import audit


@dataclass(frozen=True)
class MfaReset:
    removed_apps: int
    ended_sessions: int


def end_sessions_of(user: User) -> int:
    """Delete every live session that belongs to ``user``; returns how many."""
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user.pk):
            session.delete()
            ended += 1
    return ended


def reset_mfa(user: User, *, via: str, request=None) -> MfaReset:
    """Remove ``user``'s authenticator apps and password, sign them out everywhere; audited.

    The password goes too, so whoever reset the app cannot sign in with a password they
    once set or learnt (passwords.py): the member needs a new temporary password from a
    clinic admin, or a reset link by e-mail, and then sets up a new app. They are told
    by e-mail. The audit entry (``auth.mfa.reset``) says ``via`` which path did it and
    how much was removed.
    """
    with transaction.atomic():
        removed, _per_model = TOTPDevice.objects.filter(user=user).delete()
        invalidate_password(user)
        reset = MfaReset(removed_apps=removed, ended_sessions=end_sessions_of(user))
        audit.record(
            "auth.mfa.reset",
            request=request,
            obj=user,
            object_type="user",
            detail={"via": via, "removed": reset.removed_apps, "count": reset.ended_sessions},
        )
    send_notice(
        [user],
        gettext_lazy("Your two-step sign-in to Rapport was reset"),
        "accounts/email/mfa_reset.txt",
        {"member": user, "by": getattr(request, "user", None)},
    )
    return reset
