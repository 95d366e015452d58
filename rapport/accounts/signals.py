"""Every successful sign-in, however it happens: start the session clocks and audit it."""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from rapport.accounts import lockout
from rapport.security import audit
from rapport.security.middleware import start_session_clocks


@receiver(user_logged_in, dispatch_uid="rapport.accounts.signed_in")
def signed_in(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    start_session_clocks(request.session)
    lockout.clear_failures(user.get_username())
    audit.record("auth.login", request=request, user=user)
