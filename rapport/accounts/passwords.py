"""Who knows a password: only its holder may sign in with it.

A password set by a clinic admin (a new account, a reset) is *temporary*: the admin
knows it, so :func:`admin_knows_password` is true and sign-in stops at "Choose your
password" before anything else, MFA enrolment included. Between the password step and
that choice the browser holds only a short-lived marker in its session, never a
signed-in session. Resetting someone's authenticator app also makes their password
unusable (:func:`invalidate_password`), so the admin who reset it cannot sign in with a
password they once set.
"""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.utils.crypto import constant_time_compare, salted_hmac

from rapport.accounts.models import User
from rapport.security import audit

# Session key of the marker between the password step and "Choose your password".
PENDING = "rapport_password_choice"
PENDING_SECONDS = 10 * 60


def admin_knows_password(user: User) -> bool:
    """Whether ``user``'s password was set by someone else (a clinic admin).

    Sign-in never gives access with such a password: the holder must choose their own.
    """
    return user.must_change_password


def set_temporary_password(member: User, raw_password: str, *, request=None) -> None:
    """A clinic admin sets ``member``'s password; it works once, to choose a new one."""
    member.set_password(raw_password)
    member.must_change_password = True
    member.save(update_fields=["password", "must_change_password"])
    audit.record("staff.password_reset", request=request, obj=member, object_type="user")


def invalidate_password(member: User) -> None:
    """Make ``member``'s password unusable (after an MFA reset): nobody can sign in with
    it, however they learnt it. A new temporary one, or a reset link, is needed."""
    member.set_unusable_password()
    member.must_change_password = False
    member.save(update_fields=["password", "must_change_password"])


def choose_password(user: User, raw_password: str, *, via: str, request=None) -> None:
    """``user`` sets a password only they know; audited as ``auth.password.change``.

    ``via``: ``self`` (the change-password page), ``temporary`` (replacing an admin's
    password at sign-in) or ``email_link`` (forgotten password).
    """
    user.set_password(raw_password)
    user.must_change_password = False
    user.save(update_fields=["password", "must_change_password"])
    audit.record(
        "auth.password.change",
        request=request,
        user=user,
        obj=user,
        object_type="user",
        detail={"via": via},
    )


def _fingerprint(user: User) -> str:
    # Ties the marker to the password it was earned with: once that changes (the
    # member chose one, an admin reset it again) the marker is worthless.
    return salted_hmac(PENDING, user.password).hexdigest()


def begin_password_choice(request, user: User) -> None:
    """Remember, for a few minutes, that this browser gave ``user``'s temporary password."""
    request.session.cycle_key()
    request.session[PENDING] = {
        "user": user.pk,
        "since": int(time.time()),
        "fingerprint": _fingerprint(user),
    }


def user_choosing_password(request) -> User | None:
    """The user this browser may choose a password for, or None (no marker, expired,
    or the password changed since)."""
    marker = request.session.get(PENDING)
    if not isinstance(marker, dict):
        return None
    if time.time() - marker.get("since", 0) > PENDING_SECONDS:
        return None
    user = get_user_model().objects.filter(pk=marker.get("user"), is_active=True).first()
    if user is None or not admin_knows_password(user):
        return None
    if not constant_time_compare(marker.get("fingerprint", ""), _fingerprint(user)):
        return None
    return user


def end_password_choice(request) -> None:
    request.session.pop(PENDING, None)
