"""System checks for sign-in settings that must never reach production by accident."""

from __future__ import annotations

from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security, deploy=True)
def demo_mode_waives_mfa(app_configs, **kwargs):
    """`check --deploy` warns when demo mode (which waives MFA) is switched on."""
    if settings.DEMO_MODE:
        return [
            checks.Warning(
                "RAPPORT_DEMO is on: the second sign-in step (MFA) is waived and the "
                "demo banner is shown. Never use demo mode for real client data.",
                hint="Unset RAPPORT_DEMO (it is set by `rapport demo`).",
                id="accounts.W001",
            )
        ]
    return []
