"""The crisis box on the thank-you page: in the client's language, with the clinic's contacts.

Issue #16: a client checking in in Spanish who endorsed PHQ-9 item 9 got a Spanish heading
over English, US-only lines, because the lines were built outside the language override.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from rapport.checkin.models import CheckinSettings
from rapport.checkin.tests.helpers import full_answers

pytestmark = pytest.mark.django_db

SPANISH_HEADING = "Si tiene pensamientos de muerte o de hacerse daño"
SPANISH_DEFAULT_LINES = [
    "Si está en peligro en este momento, llame al 911 o vaya al servicio de urgencias más cercano.",
    "Línea 988 de Prevención del Suicidio y Crisis (Estados Unidos), a cualquier hora del "
    "día o de la noche: llame o envíe un mensaje de texto al 988, o chatee en 988lifeline.org.",
    "En español: llame al 988 y marque 2, o envíe un mensaje de texto con la palabra AYUDA al 988.",
]
ENGLISH_HEADING = "If you are having thoughts of death or of hurting yourself"
ENGLISH_DEFAULT_LINES = [
    "If you are in danger right now, call 911 or go to the nearest emergency department.",
    "988 Suicide & Crisis Lifeline (United States), any time, day or night: call or text "
    "988, or chat at 988lifeline.org.",
    "In Spanish: call 988 and press 2, or text AYUDA to 988.",
]


class CrisisBox(HTMLParser):
    """The text of the ``.ck-crisis`` section: heading, paragraphs, list items, list lang."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.depth = 0
        self.current: str | None = None
        self.heading = ""
        self.paragraphs: list[str] = []
        self.lines: list[str] = []
        self.list_lang: str | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section" and "ck-crisis" in (attributes.get("class") or "").split():
            self.depth = 1
            return
        if not self.depth:
            return
        if tag == "section":
            self.depth += 1
        if tag == "ul":
            self.list_lang = attributes.get("lang")
        if tag in {"h2", "p", "li"}:
            self.current = tag
            if tag == "p":
                self.paragraphs.append("")
            if tag == "li":
                self.lines.append("")

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "section":
            self.depth -= 1
        if tag == self.current:
            self.current = None

    def handle_data(self, data):
        if not self.depth or self.current is None:
            return
        if self.current == "h2":
            self.heading += data
        elif self.current == "p":
            self.paragraphs[-1] += data
        else:
            self.lines[-1] += data

    @property
    def found(self) -> bool:
        return bool(self.heading)


def submit_endorsing_item_9(client, issued, language: str) -> str:
    response = client.post(f"{issued.path}submit/?lang={language}", full_answers(phq9_item9=2))
    assert response.status_code == 200
    return response.content.decode()


def set_contacts(clinics, **by_language: str) -> None:
    CheckinSettings.objects.update_or_create(
        organisation=clinics.organisation, defaults={"crisis_resources": by_language}
    )


def test_spanish_check_in_shows_every_line_of_the_crisis_box_in_spanish(client, issued):
    box = CrisisBox(submit_endorsing_item_9(client, issued, "es"))
    assert box.heading == SPANISH_HEADING
    assert box.paragraphs == [
        "No está solo(a), y hay ayuda disponible ahora. Se ha avisado a su terapeuta de que "
        "quizá necesite apoyo pronto."
    ]
    assert box.lines == SPANISH_DEFAULT_LINES
    assert box.list_lang is None  # the lines are in the page's language


def test_english_check_in_shows_the_english_defaults(client, issued):
    box = CrisisBox(submit_endorsing_item_9(client, issued, "en"))
    assert box.heading == ENGLISH_HEADING
    assert box.lines == ENGLISH_DEFAULT_LINES


def test_the_heading_names_thoughts_of_death_as_well_as_self_harm(client, issued):
    # PHQ-9 item 9 asks about "thoughts that you would be better off dead, or of hurting
    # yourself": a heading about self-harm alone misses half of it.
    heading = CrisisBox(submit_endorsing_item_9(client, issued, "en")).heading
    assert "death" in heading and "hurting yourself" in heading


def test_the_clinics_own_spanish_contacts_are_shown_to_a_spanish_client(client, clinics, issued):
    set_contacts(
        clinics,
        en="Our clinic: 555 0100",
        es="Nuestra clínica: 555 0100\n\n  Línea de crisis del condado: 555 0199  \n",
    )
    box = CrisisBox(submit_endorsing_item_9(client, issued, "es"))
    assert box.heading == SPANISH_HEADING
    assert box.lines == ["Nuestra clínica: 555 0100", "Línea de crisis del condado: 555 0199"]


def test_english_contacts_stand_in_only_when_the_clinic_set_english_and_not_spanish(
    client, clinics, issued
):
    set_contacts(clinics, en="Our clinic: 555 0100")
    box = CrisisBox(submit_endorsing_item_9(client, issued, "es"))
    assert box.heading == SPANISH_HEADING
    assert box.lines == ["Our clinic: 555 0100"]
    # Marked as English, so a screen reader reads them in English.
    assert box.list_lang == "en"


def test_a_spanish_only_clinic_gives_an_english_client_the_english_defaults(
    client, clinics, issued
):
    set_contacts(clinics, es="Nuestra clínica: 555 0100")
    box = CrisisBox(submit_endorsing_item_9(client, issued, "en"))
    assert box.lines == ENGLISH_DEFAULT_LINES


def test_no_crisis_box_without_a_critical_answer(client, issued):
    page = client.post(f"{issued.path}submit/?lang=es", full_answers(phq9_item9=0))
    assert not CrisisBox(page.content.decode()).found
