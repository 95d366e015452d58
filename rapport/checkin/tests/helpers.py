"""Test helpers: answers that complete the default test plan's check-in (trust, alliance,
PHQ-9), and a clinic whose safety notices reach someone."""

from __future__ import annotations

from django.core import mail

from rapport.browser_testing import check_accessibility
from rapport.checkin.models import SafetyNoticeSettings
from rapport.checkin.submit import submit_checkin
from rapport.checkin.views import _posted_answers
from rapport.core.instruments import instruments
from rapport.testing import issue_checkin_link

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


def unsafe_answers(phq9_item9: int = 0) -> dict[str, str]:
    """A whole check-in whose trust answers include "I felt safe with my therapist in the
    last session": Strongly disagree."""
    answers = full_answers(phq9_item9)
    answers["rapport_trust.trust_safe"] = "1"
    return answers


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


def open_client_page(page, base_url: str, client) -> None:
    """Open ``client``'s page as the signed-in member and check it with axe-core."""
    page.goto(f"{base_url}/clients/{client.public_id}/")
    page.wait_for_selector(f"h1:has-text('{client.record_number}')")
    check_accessibility(page)


def submit_answers(episode, answers: dict[str, str], language: str = "en"):
    """Answer a new check-in link of ``episode``'s due session with form data
    ``answers`` (:func:`full_answers`) as a client sending the form would; returns the
    :class:`~rapport.checkin.submit.SubmitResult`."""
    issued = issue_checkin_link(episode)
    return submit_checkin(issued.token, _posted_answers(answers), comment="", language=language)
