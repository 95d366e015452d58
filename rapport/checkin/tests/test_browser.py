"""Real-browser tests: Playwright driving Debian's Chromium at a phone-sized viewport.

Every check-in page is checked with axe-core (npm, ``node_modules/axe-core``): zero
serious or critical violations. Set ``RAPPORT_CHECKIN_SCREENSHOTS=docs/screenshots`` to
write the screenshots used in docs/checkin.md.

Needs: ``apt-get install chromium``, ``pip install playwright`` (never ``playwright
install``: the Debian browser is used) and ``npm ci`` for axe-core.
"""

from __future__ import annotations

import datetime
import os

import pytest
from django.test import Client
from django.utils import timezone

from rapport.browser_testing import PHONE, WCAG_21_AA, require_browser_tools, save_screenshot
from rapport.browser_testing import check_accessibility as check_page
from rapport.checkin.models import CheckinDraft, CheckinLink, CheckinSubmission
from rapport.checkin.tests.test_crisis import SPANISH_DEFAULT_LINES, SPANISH_HEADING
from rapport.clinic.models import AdministrationStatus
from rapport.testing import (
    issue_checkin_link,
    login_verified,
    make_two_clinics,
    schedule_next_session,
)

DESKTOP = {"width": 1366, "height": 900}
SCREENSHOTS = os.environ.get("RAPPORT_CHECKIN_SCREENSHOTS")
# Check-in pages are held to axe's best practices as well as WCAG 2.1 AA.
AXE_TAGS = (*WCAG_21_AA, "best-practice")

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def browser_context_args():
    return {"viewport": PHONE, "is_mobile": True, "has_touch": True}


@pytest.fixture
def clinics(live_server):
    return make_two_clinics()


def check_accessibility(page) -> None:
    check_page(page, AXE_TAGS)


def shot(page, name: str) -> None:
    save_screenshot(page, SCREENSHOTS, f"checkin-{name}", full_page=False)


def answer_screen(page, choice_index: int = -1) -> None:
    """Pick one option in every question on the screen (by label, as a thumb would)."""
    for fieldset in page.locator("fieldset.ck-item").all():
        options = fieldset.locator("label.ck-option, .ck-point label")
        target = options.nth(choice_index if choice_index >= 0 else options.count() - 1)
        target.click()


def endorse_phq9_item_9(page, option_index: int) -> str:
    """Choose option ``option_index`` of PHQ-9 item 9 (the ninth question); returns its label."""
    option = page.locator("fieldset.ck-item").nth(8).locator("label.ck-option").nth(option_index)
    option.click()
    return option.inner_text().strip()


def complete(
    page, *, next_label="Next", send_label="Send my answers", name_prefix="", phq9_item9=None
):
    """Answer every screen and send; ``phq9_item9``: an option index for item 9, if not 0."""
    for screen in range(3):
        check_accessibility(page)
        phq9 = "PHQ-9" in page.title()
        answer_screen(page, 0 if phq9 else -1)
        if phq9 and phq9_item9 is not None:
            endorse_phq9_item_9(page, phq9_item9)
        if name_prefix and screen == 0:
            shot(page, f"{name_prefix}2-trust-answered")
        page.get_by_role("button", name=next_label).click()
        page.wait_for_load_state()
    check_accessibility(page)
    if name_prefix:
        shot(page, f"{name_prefix}4-final")
    page.get_by_role("button", name=send_label).click()
    page.wait_for_load_state()


def test_complete_in_english(page, live_server, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    page.goto(live_server.url + issued.path)
    shot(page, "1-start")
    assert page.locator("h1").inner_text() == "Trust & Respect check-in"
    assert "Who sees these answers" in page.locator(".ck-audience").inner_text()
    complete(page, name_prefix="")
    assert page.locator("h1").inner_text() == "Thank you"
    check_accessibility(page)
    session = issued.link.session
    assert session.administrations.filter(status=AdministrationStatus.COMPLETED).count() == 3


def test_complete_in_spanish_with_screenshots(page, live_server, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    page.goto(live_server.url + issued.path)
    page.get_by_role("link", name="Español").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Paso 1 de 4" in page.locator(".ck-step").inner_text()
    shot(page, "es-1-start")
    # PHQ-9 item 9 answered "more than half the days": the crisis box must be Spanish too.
    complete(
        page,
        next_label="Siguiente",
        send_label="Enviar mis respuestas",
        name_prefix="es-",
        phq9_item9=2,
    )
    assert page.locator("h1").inner_text() == "Gracias"
    crisis = page.locator(".ck-crisis")
    assert crisis.locator("h2").inner_text() == SPANISH_HEADING
    assert crisis.locator("li").all_inner_texts() == SPANISH_DEFAULT_LINES
    assert crisis.locator("ul").get_attribute("lang") is None  # the page's own language
    check_accessibility(page)
    shot(page, "es-5-thanks")
    submission = CheckinSubmission.objects.get()
    assert submission.language == "es"
    answers = submission.session.administrations.get(instrument_id="phq9").answers
    assert answers["phq9_9"] == 2


def test_screenshots_of_the_english_flow(page, live_server, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    page.goto(live_server.url + issued.path)
    shot(page, "1-start")
    complete(page, name_prefix="en-")
    # A critical answer (PHQ-9 item 9) shows the crisis resources.
    assert page.locator("h1").inner_text() == "Thank you"
    shot(page, "en-5-thanks")


def test_critical_answer_shows_crisis_resources(page, live_server, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    page.goto(live_server.url + issued.path + "?screen=2")
    answer_screen(page, 0)
    page.locator("fieldset.ck-item").nth(8).locator("label.ck-option").nth(2).click()
    page.get_by_role("button", name="Next").click()
    page.wait_for_load_state()
    page.goto(live_server.url + issued.path + "?screen=0")
    for _ in range(2):
        page.get_by_role("button", name="Next").click()
        page.wait_for_load_state()
    page.get_by_role("button", name="Next").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_load_state()
    crisis = page.locator(".ck-crisis")
    assert "988" in crisis.inner_text()
    check_accessibility(page)
    shot(page, "crisis")


def test_close_halfway_and_resume(new_page, page, live_server, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    page.goto(live_server.url + issued.path)
    page.locator("label.ck-option").nth(5).click()  # trust item 1: "Agree"
    page.locator("fieldset.ck-item").nth(1).locator("label.ck-option").nth(1).click()
    page.wait_for_function("document.querySelector('.ck-saved').textContent.includes('saved')")
    page.close()  # the client closes the tab without pressing Next
    again = new_page(viewport=PHONE)
    again.goto(live_server.url + issued.path)
    checked = again.locator("input[type=radio]:checked")
    assert checked.count() == 2
    assert checked.first.get_attribute("value") == "6"


def test_submit_twice_stores_once(new_page, live_server, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    first = new_page(viewport=PHONE)
    second = first.context.new_page()  # a second tab of the same browser
    # A tab in the background gets no animation frames: each click would wait for them.
    first.bring_to_front()
    first.goto(live_server.url + issued.path)
    complete_until_final = first
    for _ in range(3):
        answer_screen(complete_until_final, 0 if "PHQ-9" in first.title() else -1)
        first.get_by_role("button", name="Next").click()
        first.wait_for_load_state()
    second.goto(live_server.url + issued.path + "?screen=3")  # the same final screen
    first.get_by_role("button", name="Send my answers").click()
    first.wait_for_load_state()
    assert first.locator("h1").inner_text() == "Thank you"
    second.bring_to_front()
    second.get_by_role("button", name="Send my answers").click()
    second.wait_for_load_state()
    assert second.locator("h1").inner_text() == "This link is closed"
    assert "already sent your answers" in second.locator("main").inner_text()
    check_accessibility(second)
    assert CheckinSubmission.objects.count() == 1


def test_expired_link(page, live_server, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    CheckinLink.objects.filter(pk=issued.link.pk).update(
        expires_at=timezone.now() - datetime.timedelta(minutes=1)
    )
    response = page.goto(live_server.url + issued.path)
    assert response.status == 410
    assert page.locator("h1").inner_text() == "This link is closed"
    check_accessibility(page)
    shot(page, "closed")


def tablet_signed_in_as(new_page, live_server, user):
    """A page on a tablet-sized browser already signed in as ``user`` (staff)."""
    from django.conf import settings

    staff = Client()
    login_verified(staff, user)
    cookie = staff.cookies[settings.SESSION_COOKIE_NAME].value
    page = new_page(viewport={"width": 820, "height": 1180})
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )
    return page


def start_kiosk(new_page, live_server, clinics):
    """A page on a tablet-sized browser where the owner started a kiosk check-in."""
    schedule_next_session(clinics.owner_episode)
    page = tablet_signed_in_as(new_page, live_server, clinics.owner)
    page.goto(f"{live_server.url}/clients/{clinics.owner_client.public_id}/")
    page.get_by_role("button", name="Start check-in on this tablet").click()
    page.wait_for_load_state()
    assert "/q/" in page.url
    return page


def test_kiosk_check_in_ends_on_the_locked_screen(new_page, live_server, clinics):
    page = start_kiosk(new_page, live_server, clinics)
    complete(page)
    assert page.locator("h1").inner_text() == "Thank you"
    page.get_by_role("link", name="Finish").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "This tablet is locked"
    check_accessibility(page)
    shot(page, "kiosk-locked")
    body = page.locator("body").inner_text()
    assert clinics.owner_client.record_number not in body
    assert clinics.owner.username not in body
    # The staff session is gone from the tablet: staff pages ask for a sign-in.
    page.goto(f"{live_server.url}/clients/{clinics.owner_client.public_id}/")
    assert "/accounts/login/" in page.url


def test_an_idle_kiosk_returns_to_the_locked_screen(new_page, live_server, clinics, settings):
    settings.CHECKIN_KIOSK_IDLE_MINUTES = 0.05  # 3 seconds
    page = start_kiosk(new_page, live_server, clinics)
    form_url = page.url
    answer_screen(page)
    page.wait_for_url("**/kiosk/**", timeout=15_000)
    assert page.locator("h1").inner_text() == "This tablet is locked"
    link = CheckinLink.objects.get(channel="kiosk")
    assert link.revoked_at is not None and not CheckinDraft.objects.exists()
    # Going back to the form finds nothing left of the answers.
    page.goto(form_url)
    assert page.locator("input:checked").count() == 0


@pytest.mark.parametrize(
    ("viewport", "language", "next_label", "send_label", "anchor"),
    [
        (PHONE, "en", "Next", "Send my answers", "0: Not at all connected"),
        (DESKTOP, "es", "Siguiente", "Enviar mis respuestas", "0: Nada conectado(a)"),
    ],
    ids=["phone-english", "desktop-spanish"],
)
def test_a_zero_to_ten_item_is_one_row_answered_by_tap_and_by_keyboard(
    new_page, live_server, clinics, viewport, language, next_label, send_label, anchor
):
    phone = viewport == PHONE
    page = new_page(viewport=viewport, is_mobile=phone, has_touch=phone)
    issued = issue_checkin_link(clinics.owner_episode)
    page.goto(f"{live_server.url}{issued.path}?lang={language}")
    for _ in range(3):
        scales = page.locator("fieldset.ck-item-scale")
        if not scales.count():
            answer_screen(page, 0 if "PHQ-9" in page.title() else -1)
            page.get_by_role("button", name=next_label).click()
            page.wait_for_load_state()
            continue
        # Every scale is one row of eleven numbers, each at least 44 px high, on the screen.
        assert scales.count() == 4
        for scale in scales.all():
            tops = scale.locator(".ck-point label").evaluate_all(
                "labels => labels.map(label => Math.round(label.getBoundingClientRect().top))"
            )
            assert len(tops) == 11 and len(set(tops)) == 1, tops
            for label in scale.locator(".ck-point label").all():
                box = label.bounding_box()
                assert box["height"] >= 44 and box["x"] + box["width"] <= viewport["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        # The words at the ends are read with the question.
        bond = scales.first
        described_by = bond.get_attribute("aria-describedby")
        assert anchor in page.locator(f"#{described_by}").inner_text()
        check_accessibility(page)

        # First question by tap (or click): 7.
        seven = bond.get_by_role("radio", name="7", exact=True)
        if phone:
            bond.locator(".ck-point label", has_text="7").tap()
        else:
            bond.locator(".ck-point label", has_text="7").click()
        assert seven.is_checked()
        # Second question by keyboard: Tab into it, then the arrow keys move along the row.
        page.keyboard.press("Tab")
        goals = scales.nth(1)
        assert goals.get_by_role("radio", name="0", exact=True).evaluate(
            "radio => radio === document.activeElement"
        )
        for _ in range(3):
            page.keyboard.press("ArrowRight")
        three = goals.get_by_role("radio", name="3", exact=True)
        assert three.is_checked()
        # The focused number shows a focus ring; the chosen one differs in more than colour.
        label = goals.locator(".ck-point label", has_text="3")
        assert label.evaluate("label => getComputedStyle(label).outlineStyle") == "solid"
        assert label.evaluate("label => getComputedStyle(label).fontWeight") == "700"
        assert label.evaluate("label => getComputedStyle(label, '::after').content") == '""'
        if language == "en":
            shot(page, "scale")
        page.get_by_role("button", name=next_label).click()
        page.wait_for_load_state()
    page.get_by_role("button", name=send_label).click()
    page.wait_for_load_state()
    answers = issued.link.session.administrations.get(instrument_id="rapport_alliance").answers
    assert (answers["alliance_bond"], answers["alliance_goals"]) == (7, 3)
    assert answers.get("alliance_overall") is None
