"""Every successful sign-in, however it happens: start the session clocks and audit it.

The lockout's failure count is cleared later, when the second step succeeds (views.py):
the password alone proves too little to wipe it.
"""

from __future__ import annotations

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from rapport.security import audit
from rapport.security.middleware import start_session_clocks


@receiver(user_logged_in, dispatch_uid="rapport.accounts.signed_in")
def signed_in(sender, request, user, **kwargs) -> None:
    if request is None:
        return
    start_session_clocks(request.session)
    audit.record("auth.login", request=request, user=user)
