"""A clinic's whole day in a real browser (issue #17, "Done when").

The clinic admin unlocks a therapist who locked themselves out; the therapist finds a
client by name, schedules a weekly series, sends the check-in link by e-mail; the client
opens it on a phone and completes it; the therapist reviews the answers, hands another
client over to a colleague (with confirmation, landing on the page that says where the
client went) and closes a third client's episode. Every staff page is checked with
axe-core and for horizontal scrolling. It runs at desktop and phone sizes, once with
English-speaking staff and once with Spanish-speaking staff (the client writes Spanish in
both, as clients choose their own language).

Set ``RAPPORT_WORKSPACE_SCREENSHOTS=docs/screenshots`` to write the main staff pages at
both sizes (English run) for the docs.

Selectors name forms and fields, not button words, so that one walk serves both languages;
the words the staff read are checked against the catalogue of their language.
Needs what the other browser tests need (rapport/browser_testing.py).
"""

from __future__ import annotations

import datetime
import os
import re

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from rapport.accounts import lockout
from rapport.accounts.models import Role
from rapport.browser_testing import (
    check_accessibility,
    require_browser_tools,
    save_screenshot,
    sign_in,
)
from rapport.checkin.models import CheckinSubmission
from rapport.checkin.tests.test_browser import complete
from rapport.clinic.models import ClientDemographics, ClientIdentity, Episode
from rapport.testing import make_episode, make_organisation, make_user

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]

VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
LINK = re.compile(r"https?://\S+/q/[^\s/]+/")
SCREENSHOTS = os.environ.get("RAPPORT_WORKSPACE_SCREENSHOTS")


def screenshot(page, name: str) -> None:
    """A docs screenshot of the English walk, named by page and screen size."""
    if page.locator("html").get_attribute("lang") == "en":
        width = page.viewport_size["width"]
        size = "phone" if width < 500 else "desktop"
        save_screenshot(page, SCREENSHOTS, f"clinic-day-{name}-{size}", full_page=False)


def check_page(page) -> None:
    """axe-core clean, and nothing wider than the screen (tables scroll in their box)."""
    check_accessibility(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.viewport_size["width"]
    assert width <= viewport, f"{page.url}: {width} px wide on a {viewport} px screen"


def words(language: str, *messages: str) -> list[str]:
    """``messages`` as the staff member reads them, from the translation catalogue."""
    with translation.override(language):
        return [str(translation.gettext(message)) for message in messages]


@pytest.fixture
def clinic(live_server, request, settings):
    """A clinic with its admin, a supervisor, two therapists and three of the first
    therapist's clients; the first therapist has locked themselves out."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    language = request.param
    # Links in messages point at this site, as RAPPORT_SITE_URL does in a real installation.
    settings.SITE_URL = live_server.url
    organisation = make_organisation()
    admin = make_user(organisation, Role.CLINIC_ADMIN, first_name="Ana", last_name="Reyes")
    supervisor = make_user(organisation, Role.SUPERVISOR, first_name="Sam", last_name="Okafor")
    therapist = make_user(organisation, supervisor=supervisor, first_name="Lee", last_name="Vu")
    colleague = make_user(
        organisation, supervisor=supervisor, first_name="Noor", last_name="Haddad"
    )
    for person in (admin, therapist):
        person.language = language
        person.save(update_fields=["language"])
        TOTPDevice.objects.create(user=person, name="phone", confirmed=True)
    clients = {}
    for record_number, given, family in (
        ("R-2001", "Marisol", "Ortega"),
        ("R-2002", "Tomás", "Herrera"),
        ("R-2003", "Inés", "Calderón"),
    ):
        episode = make_episode(therapist, sessions=2, record_number=record_number)
        ClientIdentity.objects.create(
            client=episode.client,
            given_name=given,
            family_name=family,
            email=f"{given.lower()}@example.org",
        )
        ClientDemographics.objects.create(client=episode.client, preferred_language="es")
        clients[given] = episode
    for _ in range(lockout.RULES[0].limit):
        lockout.record_failure(therapist.username, "127.0.0.1")
    return {
        "language": language,
        "admin": admin,
        "therapist": therapist,
        "colleague": colleague,
        "episodes": clients,
    }


@pytest.fixture
def page_on(new_page):
    """Opens a page on a named screen ("phone", "desktop") in a context of its own."""

    def open_page(viewport: str, **options):
        return new_page(viewport=VIEWPORTS[viewport], **options)

    return open_page


def admin_unlocks(page, live_server, clinic) -> None:
    sign_in(page, live_server.url, clinic["admin"])
    page.goto(live_server.url + reverse("staff-list"))
    check_page(page)
    screenshot(page, "staff")
    therapist = clinic["therapist"]
    page.goto(live_server.url + reverse("staff-edit", args=[therapist.public_id]))
    check_page(page)
    page.click("form[action$='/unlock/'] button[type=submit]")
    page.wait_for_load_state()
    check_page(page)
    assert lockout.locked_until(therapist.username, "127.0.0.1") is None


def find_by_name(page, live_server, given_name: str) -> None:
    page.goto(live_server.url + "/")
    check_page(page)
    page.fill("input[name=q]", given_name)
    page.press("input[name=q]", "Enter")
    page.wait_for_load_state()
    rows = page.locator("table.caseload tbody tr")
    assert rows.count() == 1 and given_name in rows.first.inner_text()
    check_page(page)
    screenshot(page, "caseload")
    rows.first.locator("a").first.click()
    page.wait_for_load_state()
    check_page(page)
    screenshot(page, "client")


def schedule_weekly_series(page, episode: Episode, first: datetime.datetime) -> None:
    before = episode.sessions.count()
    form = page.locator("form.schedule")
    form.locator("input[name=scheduled_at]").fill(
        timezone.localtime(first).strftime("%Y-%m-%dT%H:%M")
    )
    form.locator("select[name=repeat]").select_option("weekly")
    form.locator("input[name=count]").fill("4")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check_page(page)
    planned = list(episode.sessions.order_by("number").values_list("scheduled_at", flat=True))
    assert len(planned) == before + 4
    assert [
        later - earlier for earlier, later in zip(planned[-4:-1], planned[-3:], strict=True)
    ] == [datetime.timedelta(weeks=1)] * 3


def send_link_by_email(page, address: str) -> str:
    """From the client page: create a link for the next session, send it by e-mail;
    returns the link the client received."""
    page.click("form[action$='/link/'] button[type=submit]")
    page.wait_for_load_state()
    check_page(page)
    page.click("form:has(input[name=channel][value=email]) button[type=submit]")
    page.wait_for_load_state()
    check_page(page)
    sent = [message for message in mail.outbox if address in message.to]
    assert len(sent) == 1
    link = LINK.search(str(sent[0].body))
    assert link, sent[0].body
    return link.group(0)


def client_completes_on_a_phone(page_on, url: str) -> None:
    phone = page_on("phone", is_mobile=True, has_touch=True)
    phone.goto(url)
    assert phone.locator("html").get_attribute("lang") == "es"
    complete(phone, next_label="Siguiente", send_label="Enviar mis respuestas")
    assert phone.locator("h1").inner_text() == "Gracias"


def hand_over(page, live_server, episode: Episode, colleague) -> None:
    page.goto(live_server.url + reverse("client-detail", args=[episode.client.public_id]))
    form = page.locator("form.hand-over")
    assert form.locator("select[name=to]").input_value() == "", "no colleague preselected"
    form.locator("select[name=to]").select_option(str(colleague.pk))
    form.locator("input[name=confirm]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check_page(page)
    episode.refresh_from_db()
    assert episode.therapist_id == colleague.pk
    assert "Noor Haddad" in page.locator("main").inner_text()


def close_episode(page, live_server, episode: Episode) -> None:
    page.goto(live_server.url + reverse("client-detail", args=[episode.client.public_id]))
    form = page.locator("form.close-episode")
    assert form.locator("select[name=end_reason]").input_value() == "", "no reason preselected"
    form.locator("select[name=end_reason]").select_option("completed")
    form.locator("input[name=ended_on]").fill(timezone.localdate().isoformat())
    form.locator("input[name=confirm]").check()
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    check_page(page)
    episode.refresh_from_db()
    assert episode.ended_on == timezone.localdate() and episode.end_reason == "completed"


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("clinic", ["en", "es"], indirect=True)
def test_a_clinic_day(live_server, page_on, clinic, viewport):
    language = clinic["language"]
    admin_page = page_on(viewport)
    admin_unlocks(admin_page, live_server, clinic)

    page = page_on(viewport)
    sign_in(page, live_server.url, clinic["therapist"])
    assert page.locator("html").get_attribute("lang") == language
    (caseload,) = words(language, "Caseload")
    assert caseload in page.locator("nav").inner_text()

    marisol = clinic["episodes"]["Marisol"]
    find_by_name(page, live_server, "Marisol")
    schedule_weekly_series(page, marisol, timezone.now() + datetime.timedelta(days=1, hours=2))
    url = send_link_by_email(page, "marisol@example.org")

    client_completes_on_a_phone(page_on, url)
    submitted = CheckinSubmission.objects.get(session__episode=marisol)

    page.goto(live_server.url + reverse("client-detail", args=[marisol.client.public_id]))
    check_page(page)
    # The sessions table's row of that session: the one with its status menu.
    status_menu = f"#status-{marisol.public_id}-{submitted.session.number}"
    session_row = page.locator(f"tr:has({status_menu})")
    (completed,) = words(language, "completed")
    assert session_row.locator(".state-completed").inner_text() == completed

    hand_over(page, live_server, clinic["episodes"]["Tomás"], clinic["colleague"])
    close_episode(page, live_server, clinic["episodes"]["Inés"])
