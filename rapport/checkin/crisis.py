"""Crisis resources shown on the thank-you page after a critical answer."""

from __future__ import annotations

from django.utils.translation import gettext as _

from rapport.checkin.models import CheckinSettings


def default_resources() -> list[str]:
    """Generic wording; 988 is the real US Suicide & Crisis Lifeline. Clinics set their own."""
    return [
        _("If you are in danger right now, call your local emergency number."),
        _("In the United States, call or text 988 (Suicide & Crisis Lifeline), any time."),
        _("You can also go to the nearest emergency department."),
        _("Your clinic has not yet added its own crisis contacts (demo wording)."),
    ]


def crisis_resources(organisation_id: int, language: str) -> list[str]:
    """The clinic's configured lines in ``language`` (else English), else the defaults."""
    settings_row = CheckinSettings.objects.filter(organisation_id=organisation_id).first()
    configured = settings_row.crisis_resources if settings_row else {}
    text = configured.get(language) or configured.get("en") or ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines or default_resources()
