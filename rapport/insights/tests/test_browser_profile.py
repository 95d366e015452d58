"""Real-browser test of the therapist relationship profile (#20.6).

A therapist opens "My relationship profile" from the menu and a supervisor opens a team
member's profile from the Team page. Each page must pass axe-core (WCAG 2.1 AA, no
serious or critical violation) and show an estimate with its interval next to the
clinic's figure; in Spanish its headings are Spanish, and on a 390 px wide phone the
page does not scroll sideways (the table scrolls in its own box).

Needs: ``apt-get install chromium``, ``pip install playwright`` (never ``playwright
install``: the Debian browser is used) and ``npm ci`` for axe-core.
"""

from __future__ import annotations

import re

import pytest

from rapport.browser_testing import (
    DESKTOP,
    PHONE,
    can_sign_in,
    check_accessibility,
    horizontal_overflow,
    require_browser_tools,
    sign_in,
)
from rapport.insights import snapshots
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.testing import reads_in

# An interval as the page prints it, in English or Spanish: "4.91 to 5.32", "4.91 a 5.32".
INTERVAL = re.compile(r"^-?\d+(\.\d+)?%? (to|a) -?\d+(\.\d+)?%?$")

require_browser_tools()

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def clinic(db):
    clinic = make_synth_clinic()
    snapshots.refresh(clinic.organisation)  # as the nightly refresh leaves it
    return clinic


def first_estimate(page) -> dict[str, str]:
    """The first measure row of the profile table, by column heading."""
    table = page.locator("section[aria-labelledby=profile-measures] table")
    headings = table.locator("thead th").all_inner_texts()
    row = table.locator("tbody tr").first
    cells = row.locator("th, td").all_inner_texts()
    return dict(zip(headings, (cell.strip() for cell in cells), strict=True))


def check_profile(page, heading: str, labels: tuple[str, str, str]) -> None:
    """The page's heading, an estimate with its interval and the clinic's figure, axe."""
    estimate, interval, clinic = labels
    assert page.locator("h1").inner_text() == heading
    row = first_estimate(page)
    assert re.fullmatch(r"-?\d+(\.\d+)?%?", row[estimate]), row
    assert INTERVAL.match(row[interval]), row
    assert re.fullmatch(r"-?\d+(\.\d+)?%?", row[clinic]), row
    check_accessibility(page)


def test_a_therapist_opens_their_profile_from_the_menu(live_server, page, clinic):
    therapist = can_sign_in(clinic.therapist)
    sign_in(page, live_server.url, therapist)
    page.get_by_role("link", name="My relationship profile").click()
    page.wait_for_load_state()
    check_profile(page, "My relationship profile", ("Estimate", "95% interval", "Clinic"))

    # On a phone the page fits the screen; the wide table scrolls inside its own box.
    page.set_viewport_size(PHONE)
    page.reload()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
        horizontal_overflow(page)
    )
    check_accessibility(page)

    # The same page in Spanish, the therapist's chosen language.
    page.set_viewport_size(DESKTOP)
    reads_in(therapist, "es")
    page.reload()
    check_profile(page, "Mi perfil de relación", ("Estimación", "Intervalo del 95%", "Clínica"))
    headings = page.locator("main h2").all_inner_texts()
    assert "Los clientes frente a la clínica" in headings
    assert "Clients against the clinic" not in headings


def test_a_supervisor_opens_a_team_members_profile_from_the_team_page(live_server, page, clinic):
    sign_in(page, live_server.url, can_sign_in(clinic.supervisor))
    page.goto(live_server.url + "/team/")
    member = page.locator("nav.team-index li").first
    name = member.locator("a").first.inner_text()
    member.get_by_role("link", name="Relationship profile").click()
    page.wait_for_load_state()
    check_profile(page, f"Relationship profile of {name}", ("Estimate", "95% interval", "Clinic"))
