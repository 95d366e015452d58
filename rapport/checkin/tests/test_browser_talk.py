"""Real browser: closing the loop with the client, end to end (issue #21, "Done when").

On a phone, in English and in Spanish, the client answers the check-in, ticks "I'd like
to talk about how therapy is going" with a line of their own on the last screen, and
reads their own progress after sending. The treating therapist then finds the
relationship flag on the caseload (in the rupture tier), the line on the client page and
in the brief, marks it discussed, and opens "review together": no other client can be
reached from it, and leaving it takes the therapist's sign-in again. Every page is
checked with axe-core.
"""

from __future__ import annotations

import pytest

from rapport.browser_testing import check_accessibility, require_browser_tools, sign_in
from rapport.checkin.models import TalkRequest
from rapport.checkin.tests.test_browser import AXE_TAGS, PHONE, answer_screen
from rapport.checkin.tests.test_browser_progress import end_review_by_signing_in
from rapport.clinic.models import ClientProgress
from rapport.testing import issue_checkin_link, make_episode, make_two_clinics

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]

WORDS = {
    "en": {
        "next": "Next",
        "send": "Send my answers",
        "box": "I'd like to talk about how therapy is going",
        "line": "What would you like to talk about?",
        "thanks": "Thank you",
        "progress": "See your progress",
        "progress_heading": "Your progress",
        "note": "I would like more time for my questions",
    },
    "es": {
        "next": "Siguiente",
        "send": "Enviar mis respuestas",
        "box": "Me gustaría hablar de cómo va la terapia",
        "line": "¿De qué le gustaría hablar?",
        "thanks": "Gracias",
        "progress": "Ver su progreso",
        "progress_heading": "Su progreso",
        "note": "Quisiera más tiempo para mis preguntas",
    },
}


@pytest.fixture
def phone(new_page):
    return new_page(viewport=PHONE, is_mobile=True, has_touch=True)


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_client_asks_to_talk_and_the_therapist_sees_it(live_server, phone, language):
    clinics = make_two_clinics()
    clinics.organisation.client_progress = ClientProgress.SYMPTOMS_AND_RELATIONSHIP
    clinics.organisation.save(update_fields=["client_progress"])
    other_client = make_episode(clinics.owner).client
    words = WORDS[language]
    issued = issue_checkin_link(clinics.owner_episode)
    phone.goto(live_server.url + issued.path)
    if language == "es":
        phone.get_by_role("link", name="Español").click()
        phone.wait_for_load_state()
    for _ in range(3):
        answer_screen(phone, 0 if "PHQ-9" in phone.title() else -1)
        phone.get_by_role("button", name=words["next"]).click()
        phone.wait_for_load_state()
    phone.get_by_label(words["box"]).check()
    phone.get_by_label(words["line"]).fill(words["note"])
    check_accessibility(phone, AXE_TAGS)
    phone.get_by_role("button", name=words["send"]).click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == words["thanks"]
    assert TalkRequest.objects.get().note == words["note"]
    phone.get_by_role("link", name=words["progress"]).click()
    phone.wait_for_load_state()
    assert phone.locator("h1").inner_text() == words["progress_heading"]
    check_accessibility(phone)

    # The therapist, on the same phone size (staff pages work at 390 px).
    phone.context.clear_cookies()
    sign_in(phone, live_server.url, clinics.owner)
    row = phone.locator("table.caseload tbody tr").first
    assert "Asked to talk:" in row.inner_text()
    assert "asked to talk about how therapy is going" in row.inner_text()
    check_accessibility(phone)
    row.locator("th a").first.click()
    phone.wait_for_load_state()
    assert words["note"] in phone.locator(".talk-note").first.inner_text()
    check_accessibility(phone)
    phone.get_by_role("link", name="Pre-session brief").click()
    phone.wait_for_load_state()
    assert words["note"] in phone.locator(".talk-note").inner_text()
    check_accessibility(phone)
    phone.go_back()
    phone.wait_for_load_state()
    phone.get_by_role("button", name="Mark as discussed").click()
    phone.wait_for_load_state()
    assert phone.locator(".talk-note").count() == 0
    assert TalkRequest.objects.get().discussed_by == clinics.owner
    check_accessibility(phone)

    phone.get_by_role("button", name="Review together on this device").click()
    phone.wait_for_load_state()
    assert phone.url.endswith("/review/")
    check_accessibility(phone)
    assert other_client.record_number not in phone.locator("body").inner_text()
    for path in (f"/clients/{other_client.public_id}/", "/"):
        phone.goto(live_server.url + path)
        assert "/accounts/login/" in phone.url
    end_review_by_signing_in(phone, live_server, clinics.owner)
