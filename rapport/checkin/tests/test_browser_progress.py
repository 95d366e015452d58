"""Real-browser tests of "Your progress" and "review together" (issue #21, points 1 and 2).

A client checks in on a phone in English and in Spanish and reads their own progress; a
therapist hands a device over for "review together", cannot reach any staff page or
another client from it, and gets it back only by signing in again. axe-core checks
every page (WCAG 2.1 AA and best practices).
"""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.browser_testing import require_browser_tools
from rapport.checkin.tests.test_browser import (
    PHONE,
    check_accessibility,
    complete,
    shot,
    tablet_signed_in_as,
)
from rapport.clinic.models import ClientProgress
from rapport.core.instruments import instruments
from rapport.testing import (
    PASSWORD,
    issue_checkin_link,
    make_episode,
    make_two_clinics,
    totp_code,
)

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def clinics(live_server):
    clinics = make_two_clinics()
    clinics.organisation.client_progress = ClientProgress.SYMPTOMS_AND_RELATIONSHIP
    clinics.organisation.save()
    return clinics


@pytest.mark.parametrize(
    ("language", "next_label", "send_label", "see_label", "heading"),
    [
        ("en", "Next", "Send my answers", "See your progress", "Your progress"),
        ("es", "Siguiente", "Enviar mis respuestas", "Ver su progreso", "Su progreso"),
    ],
)
def test_a_client_reads_their_progress_on_a_phone(
    new_page, live_server, clinics, language, next_label, send_label, see_label, heading
):
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    issued = issue_checkin_link(clinics.owner_episode)
    page.goto(f"{live_server.url}{issued.path}?lang={language}")
    complete(page, next_label=next_label, send_label=send_label)
    page.get_by_role("link", name=see_label).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == heading
    assert page.locator("html").get_attribute("lang") == language
    phq9 = instruments()["phq9"]
    section = page.locator("section.ck-result", has_text=phq9.title[language])
    assert phq9.bands[0].text[language] in section.inner_text()
    # The chart has its words as alternative text and its data as a table.
    image = section.locator("img")
    assert image.get_attribute("alt")
    assert image.bounding_box()["width"] <= PHONE["width"]
    section.locator("summary").click()
    assert section.locator("table tbody tr").count() == 1
    check_accessibility(page)
    shot(page, f"{language}-progress")
    body = page.locator("body").inner_text()
    assert clinics.owner_client.record_number not in body
    assert clinics.owner.username not in body
    # The page has no scroll sideways on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_review_together_is_a_closed_room_left_only_by_signing_in(new_page, live_server, clinics):
    other_client = make_episode(clinics.owner).client
    issued = issue_checkin_link(clinics.owner_episode)
    Client().post(f"{issued.path}submit/", _answers())
    page = tablet_signed_in_as(new_page, live_server, clinics.owner)
    page.goto(f"{live_server.url}/clients/{clinics.owner_client.public_id}/")
    page.get_by_role("button", name="Review together on this device").click()
    page.wait_for_load_state()
    assert page.url.endswith("/review/")
    assert page.locator("h1").inner_text() == "Your progress"
    assert page.get_by_role("heading", name="Questions to talk about together").is_visible()
    check_accessibility(page)
    shot(page, "review-together")
    assert page.locator("nav a").all_inner_texts() == ["English", "Español"]
    body = page.locator("body").inner_text()
    assert other_client.record_number not in body
    assert clinics.owner_client.record_number not in body
    # Another client, the caseload, the client's own staff page: all ask for a sign-in.
    for path in (
        f"/clients/{other_client.public_id}/",
        "/",
        f"/clients/{clinics.owner_client.public_id}/",
    ):
        page.goto(live_server.url + path)
        assert "/accounts/login/" in page.url
    end_review_by_signing_in(page, live_server, clinics.owner)


def end_review_by_signing_in(page, live_server, therapist) -> None:
    """Leave "review together" the only way there is: the staff member signs in again."""
    page.goto(live_server.url + "/review/")
    page.get_by_role("link", name="End the review (staff sign-in)").click()
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url
    page.fill("#id_username", therapist.username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/mfa/**")
    page.fill("input[name=code]", totp_code(therapist.totpdevice_set.get(), unused=True))
    page.click("main form button[type=submit]")
    page.wait_for_load_state()
    assert "review together" in page.locator("main").inner_text()
    page.get_by_role("button", name="Leave kiosk mode").click()
    page.wait_for_load_state()
    page.goto(live_server.url + "/review/")
    assert page.locator("h1").inner_text() == "This tablet is locked"


def _answers():
    from rapport.checkin.tests.helpers import full_answers

    return full_answers()
