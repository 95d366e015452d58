"""Test helpers: answers that complete the default test plan's check-in (trust, alliance,
PHQ-9), and a clinic whose safety notices reach someone."""

from __future__ import annotations

from django.core import mail

from rapport.checkin.models import SafetyNoticeSettings
from rapport.core.instruments import instruments

# Where each safety notice of the tests' clinic goes (make_reachable).
THERAPIST_EMAIL = "therapist@example.org"
SUPERVISOR_EMAIL = "supervisor@example.org"
FALLBACK_EMAIL = "duty@example.org"


def full_answers(
    phq9_item9: int = 0, *, instrument_ids=("rapport_trust", "rapport_alliance", "phq9", "gad7")
) -> dict[str, str]:
    """Form data answering every item of every instrument in ``instrument_ids``."""
    data: dict[str, str] = {}
    for instrument_id in instrument_ids:
        instrument = instruments()[instrument_id]
        for item in instrument.items:
            value = item.options[-1].value if instrument.construct != "outcome" else 0
            data[f"{instrument_id}.{item.id}"] = str(int(value))
    data["phq9.phq9_9"] = str(phq9_item9)
    return data


def recipients() -> list[str]:
    """Every address an e-mail was sent to in this test, in order."""
    return [address for message in mail.outbox for address in message.to]


def make_reachable(clinics):
    """Give ``clinics``' therapist (the owner) and their supervisor e-mail addresses and
    the clinic a fallback contact, so that every step of a safety notice reaches someone;
    returns ``clinics``."""
    for person, address in (
        (clinics.owner, THERAPIST_EMAIL),
        (clinics.supervisor, SUPERVISOR_EMAIL),
    ):
        person.email = address
        person.save(update_fields=["email"])
    SafetyNoticeSettings.objects.create(
        organisation=clinics.organisation, fallback_email=FALLBACK_EMAIL
    )
    return clinics
