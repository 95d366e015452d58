"""The clinical safety loop end to end, in a real browser (issue #16, "Done when").

A client checks in on a phone in their own language (Spanish or English) and endorses
PHQ-9 item 9; the thank-you page's crisis box is wholly in that language; the therapist
is e-mailed at once without the client's name or answers; with the clock moved past the
escalation interval the supervisor is e-mailed, once; the therapist signs in, acknowledges
with the structured form (how the client was reached, what the review found, a note) and
nothing more is escalated; the caseload keeps the "risk reviewed" marker, and drops it once
a later check-in answers item 9 with 0. Every page is
checked with axe-core. Needs what the other browser tests need (rapport/browser_testing.py).

Set ``RAPPORT_SAFETY_SCREENSHOTS=docs/screenshots`` to write the screenshots of docs/safety.md.
"""

from __future__ import annotations

import datetime
import os

import pytest

from rapport.browser_testing import (
    PHONE,
    check_accessibility,
    require_browser_tools,
    save_screenshot,
)
from rapport.browser_testing import sign_in as sign_in_with_app
from rapport.checkin import delivery
from rapport.checkin.models import (
    Alert,
    ContactMethod,
    NoticeStep,
    RiskOutcome,
    SafetyNotice,
    SafetyNoticeSettings,
)
from rapport.checkin.tests.helpers import (
    FALLBACK_EMAIL,
    SUPERVISOR_EMAIL,
    THERAPIST_EMAIL,
    open_client_page,
)
from rapport.checkin.tests.test_browser import check_accessibility as check_client_page
from rapport.checkin.tests.test_browser import complete
from rapport.checkin.tests.test_crisis import (
    ENGLISH_DEFAULT_LINES,
    ENGLISH_HEADING,
    SPANISH_DEFAULT_LINES,
    SPANISH_HEADING,
)
from rapport.clinic.models import ClientDemographics
from rapport.core.instruments import instruments
from rapport.testing import issue_checkin_link, schedule_next_session

DESKTOP = {"width": 1366, "height": 900}
SCREENSHOTS = os.environ.get("RAPPORT_SAFETY_SCREENSHOTS")
ACKNOWLEDGEMENT_NOTE = "Phoned the same afternoon; safety plan reviewed together."

# PHQ-9 item 9's third option, "More than half the days" (value 2).
ENDORSED = 2
# What the client reads, word for word, in each language: buttons and the crisis box.
CLIENT_WORDS = {
    "es": {
        "send": "Enviar mis respuestas",
        "next": "Siguiente",
        "thanks": "Gracias",
        "received": "Hemos recibido sus respuestas.",
        "heading": SPANISH_HEADING,
        "reassurance": "No está solo(a), y hay ayuda disponible ahora. Se ha avisado a su "
        "terapeuta de que quizá necesite apoyo pronto.",
        "lines": SPANISH_DEFAULT_LINES,
        "other_lines": ENGLISH_DEFAULT_LINES,
    },
    "en": {
        "send": "Send my answers",
        "next": "Next",
        "thanks": "Thank you",
        "received": "Your answers have been received.",
        "heading": ENGLISH_HEADING,
        "reassurance": "You are not alone, and help is available now. Your therapist has "
        "been told that you may need support soon.",
        "lines": ENGLISH_DEFAULT_LINES,
        "other_lines": SPANISH_DEFAULT_LINES,
    },
}

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


def check_in(new_page, live_server, episode, words: dict, *, phq9_item9: int | None):
    """The client opens a fresh link on a phone and answers every screen; returns the
    thank-you page."""
    issued = issue_checkin_link(episode)
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(live_server.url + issued.path)
    complete(page, next_label=words["next"], send_label=words["send"], phq9_item9=phq9_item9)
    assert page.locator("h1").inner_text() == words["thanks"]
    check_client_page(page)
    return page


def caseload_row(page, live_server, record_number: str):
    page.goto(live_server.url + "/")
    page.wait_for_selector("h1:has-text('Caseload')")
    check_accessibility(page)
    return page.locator("table.caseload tbody tr", has_text=record_number)


def sent_to(outbox, address: str) -> list:
    return [message for message in outbox if address in message.to]


def shot(page, name: str) -> None:
    save_screenshot(page, SCREENSHOTS, f"safety-{name}", full_page=False)


@pytest.mark.parametrize("language", ["es", "en"])
def test_the_safety_loop_from_check_in_to_cleared_marker(
    new_page, live_server, reachable_live_clinic, mailoutbox, language
):
    clinic = reachable_live_clinic
    words = CLIENT_WORDS[language]
    client, identity = clinic.owner_client, clinic.owner_client.identity
    ClientDemographics.objects.create(client=client, preferred_language=language)

    # 1. The client checks in in their language and answers "more than half the days".
    thanks = check_in(new_page, live_server, clinic.owner_episode, words, phq9_item9=ENDORSED)
    assert thanks.locator("html").get_attribute("lang") == language
    other = CLIENT_WORDS["en" if language == "es" else "es"]
    page_text = thanks.locator("main").inner_text()
    assert words["received"] in page_text and other["received"] not in page_text
    crisis = thanks.locator(".ck-crisis")
    assert crisis.locator("h2").inner_text() == words["heading"]
    assert crisis.locator("p").all_inner_texts() == [words["reassurance"]]
    assert crisis.locator("li").all_inner_texts() == words["lines"]
    assert crisis.locator("ul").get_attribute("lang") is None  # the page's own language
    box_text = crisis.inner_text()
    assert not [line for line in words["other_lines"] if line in box_text]

    # 2. The therapist was told at once: record number, no name, no answer.
    alert = Alert.objects.get(client=client)
    to_therapist = sent_to(mailoutbox, THERAPIST_EMAIL)
    assert len(mailoutbox) == len(to_therapist) == 1
    notice = to_therapist[0]
    text = notice.subject + "\n" + notice.body
    assert client.record_number in text
    assert identity.given_name and identity.family_name
    phq9 = alert.session.administrations.get(instrument_id="phq9")
    assert phq9.answers["phq9_9"] == ENDORSED
    item9 = instruments()["phq9"].item("phq9_9")
    chosen_words = [option.label for option in item9.options if option.value == ENDORSED]
    private_words = [
        identity.given_name,
        identity.family_name,
        *item9.text.values(),
        *chosen_words[0].values(),
    ]
    assert not [private for private in private_words if private in text]

    # 3. Nobody acknowledges: past the clinic's interval the supervisor is told, once.
    chosen = SafetyNoticeSettings.objects.get(organisation=clinic.organisation)
    to_supervisor_at = alert.raised_at + datetime.timedelta(
        minutes=chosen.supervisor_after_minutes + 1
    )
    delivery.send_due(to_supervisor_at)
    to_supervisor = sent_to(mailoutbox, SUPERVISOR_EMAIL)
    assert len(to_supervisor) == 1 and len(mailoutbox) == 2
    text = to_supervisor[0].subject + "\n" + to_supervisor[0].body
    assert client.record_number in text and "supervisor" in text
    assert not [private for private in private_words if private in text]
    delivery.send_due(to_supervisor_at)
    assert len(mailoutbox) == 2

    # 4. The therapist signs in and records the acknowledgement with the structured form.
    page = new_page(viewport=DESKTOP)
    sign_in_with_app(page, live_server.url, clinic.owner)
    open_client_page(page, live_server.url, client)
    form = page.locator("form.acknowledge").first
    form.get_by_label("By phone").check()
    form.get_by_label("Risk present, safety plan reviewed").check()
    form.locator("textarea").fill(ACKNOWLEDGEMENT_NOTE)
    form.get_by_role("button", name="Acknowledge").click()
    page.wait_for_selector("text=Alert acknowledged")
    check_accessibility(page)
    if language == "es":
        shot(page, "acknowledged")
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinic.owner
    assert (alert.contact_method, alert.risk_outcome) == (
        ContactMethod.PHONE,
        RiskOutcome.RISK_PRESENT_PLAN_REVIEWED,
    )
    assert alert.acknowledgement_note == ACKNOWLEDGEMENT_NOTE

    # Acknowledged: past the fallback interval too, the fallback contact hears nothing.
    delivery.send_due(to_supervisor_at + datetime.timedelta(minutes=chosen.fallback_after_minutes))
    assert sent_to(mailoutbox, FALLBACK_EMAIL) == []
    assert len(mailoutbox) == 2
    assert not SafetyNotice.objects.filter(alert=alert, step=NoticeStep.FALLBACK).exists()

    # 5. No check-in has taken item 9 back: the caseload keeps the marker.
    row = caseload_row(page, live_server, client.record_number)
    marker = row.locator("li.flag-marker")
    assert marker.count() == 1
    assert "Risk reviewed" in marker.inner_text()
    assert "PHQ-9 item 9 endorsed at session 3 (“More than half the days”); no check-in since." in (
        marker.inner_text()
    )
    if language == "es":
        shot(page, "caseload-marker")

    # 6. A later check-in answers item 9 with 0: the marker goes.
    schedule_next_session(clinic.owner_episode)
    check_in(new_page, live_server, clinic.owner_episode, words, phq9_item9=None)
    latest = clinic.owner_episode.sessions.order_by("-number").first()
    assert latest.administrations.get(instrument_id="phq9").answers["phq9_9"] == 0
    row = caseload_row(page, live_server, client.record_number)
    assert row.count() == 1
    assert row.locator("li.flag-marker").count() == 0
    assert "Risk reviewed" not in row.inner_text()
