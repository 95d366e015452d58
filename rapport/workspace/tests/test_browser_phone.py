"""Staff pages on a phone: every main page of the synthetic clinic at 390 x 844.

A therapist, a supervisor and a clinic admin of a ``rapport synth`` clinic sign in on a
phone-sized screen and open each of their main pages. On every page the page itself must
not scroll sideways (wide tables scroll inside their own box) and axe-core must find no
serious or critical WCAG 2.1 AA violation.
Set ``RAPPORT_WORKSPACE_SCREENSHOTS=docs/screenshots`` to write the phone screenshots
used in docs/workspace.md.
"""

from __future__ import annotations

import os

import pytest
from django.core.management import call_command
from django.urls import reverse

from rapport.accounts.models import Role, User
from rapport.browser_testing import (
    PHONE,
    check_accessibility,
    horizontal_overflow,
    require_browser_tools,
    save_screenshot,
    sign_in,
)
from rapport.checkin.tests.helpers import submit_answers, unsafe_answers
from rapport.clinic.models import Episode, EpisodeStatus, Organisation
from rapport.testing import PASSWORD, reads_in

SCREENSHOTS = os.environ.get("RAPPORT_WORKSPACE_SCREENSHOTS")

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def browser_context_args():
    return {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 1}


@pytest.fixture
def clinic(live_server) -> Organisation:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    call_command("synth", clients=40, seed=3, org="phone", password=PASSWORD, no_progress=True)
    organisation = Organisation.objects.get(slug="phone")
    for user in User.objects.filter(organisation=organisation):
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return organisation


def staff(organisation: Organisation, role: str) -> User:
    return User.objects.filter(organisation=organisation, role=role).order_by("username")[0]


def open_and_check(page, url: str, heading: str) -> None:
    page.goto(url)
    page.wait_for_load_state()
    assert heading in page.locator("h1").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], (
        f"{url}: {horizontal_overflow(page)}"
    )
    check_accessibility(page)


def test_a_therapist_reads_every_main_page_on_a_phone(live_server, page, clinic):
    therapist = staff(clinic, Role.THERAPIST)
    sign_in(page, live_server.url, therapist)
    base = live_server.url

    open_and_check(page, base + "/", "Caseload")
    # The caseload table scrolls sideways inside its own box, a region keyboards can reach.
    box = page.locator(".table-scroll:has(table.caseload)")
    assert box.get_attribute("tabindex") == "0" and box.get_attribute("aria-label") == "Caseload"
    assert box.evaluate("box => box.scrollWidth > box.clientWidth")
    box.evaluate("box => box.scrollIntoView()")
    save_screenshot(page, SCREENSHOTS, "workspace-phone-caseload", full_page=False)

    client_link = page.locator("table.caseload tbody tr th a").first
    client_url = base + client_link.get_attribute("href")
    open_and_check(page, client_url, "")
    save_screenshot(page, SCREENSHOTS, "workspace-phone-client", full_page=False)
    # Scheduling sits on the client page: its form fields use the screen's width.
    schedule = page.locator("form.schedule")
    assert schedule.count() == 1
    box = schedule.locator("button[type=submit]").bounding_box()
    assert box is not None and box["x"] + box["width"] <= PHONE["width"]

    def link(name: str) -> str:
        return base + page.get_by_role("link", name=name, exact=True).first.get_attribute("href")

    brief_url, plan_url = link("Pre-session brief"), link("Edit measurement plan")
    safety_plan_url = link("Safety plan")
    open_and_check(page, plan_url, "Measurement plan")
    open_and_check(page, safety_plan_url, "")
    open_and_check(page, brief_url, "Before the session")
    open_and_check(page, base + "/worklist/", "Check-in worklist")
    open_and_check(page, base + "/closed/", "")
    open_and_check(page, base + "/clients/new/", "New client")


def test_a_supervisor_reads_the_team_and_insights_on_a_phone(live_server, page, clinic):
    supervisor = staff(clinic, Role.SUPERVISOR)
    # An open safety alert in the team, whatever the synthetic draws gave it.
    episode = Episode.objects.filter(
        therapist__supervisor=supervisor, status=EpisodeStatus.ACTIVE
    ).first()
    submit_answers(episode, unsafe_answers(phq9_item9=2))
    sign_in(page, live_server.url, supervisor)
    open_and_check(page, live_server.url + "/team/", "Your team")
    # The alert lists are one block per alert: whether an alert was acknowledged is read
    # on the screen, under its column's name, without scrolling sideways.
    for table in ("table.open-safety", "table.team-alerts"):
        cell = page.locator(f"{table} tbody tr").first.locator("td[data-label]").last
        box = cell.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        label = cell.evaluate("c => getComputedStyle(c, '::before').content")
        assert label.strip('"').endswith(": "), label
    assert "Not yet" in page.locator("table.open-safety").inner_text()
    open_and_check(page, live_server.url + "/insights/", "Clinic insights")
    open_and_check(page, live_server.url + "/", "Caseload")


def test_a_clinic_admin_runs_the_staff_pages_on_a_phone(live_server, page, clinic):
    admin = staff(clinic, Role.CLINIC_ADMIN)
    sign_in(page, live_server.url, admin)
    base = live_server.url
    open_and_check(page, base + "/accounts/staff/", "Staff")
    colleague = staff(clinic, Role.THERAPIST)
    open_and_check(page, base + f"/accounts/staff/{colleague.public_id}/", "")
    open_and_check(page, base + "/accounts/staff/new/", "New staff account")
    open_and_check(page, base + "/checkin/safety-notices/", "")
    open_and_check(page, base + "/checkin/crisis-contacts/", "")
    open_and_check(page, base + "/insights/", "Clinic insights")
    # The navigation wraps onto the screen: every link in it can be reached.
    for link in page.locator("header nav a").all():
        box = link.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_a_spanish_speaking_therapist_acknowledges_on_a_phone_without_sideways_scroll(
    live_server, page, clinic
):
    """The acknowledgement form's Spanish choices are longer than the English ones; a
    fieldset grows to its widest line unless told otherwise (seen in the demo: 420 px)."""
    therapist = staff(clinic, Role.THERAPIST)
    reads_in(therapist, "es")
    # A risk answer to acknowledge, whatever the synthetic draws gave this therapist.
    episode = Episode.objects.filter(therapist=therapist, status=EpisodeStatus.ACTIVE).first()
    submit_answers(episode, unsafe_answers(phq9_item9=2), language="es")
    sign_in(page, live_server.url, therapist)
    url = reverse("client-detail", args=[episode.client.public_id])
    open_and_check(page, live_server.url + url, "")
    assert page.locator("form.acknowledge fieldset").count() >= 1


def test_a_spanish_speaking_therapist_saves_the_plan_on_a_phone(live_server, page, clinic):
    """On a phone the plan is one block per questionnaire, so a long Spanish title is
    read whole, and the page saves as it is (the empty row for adding one stays empty)."""
    therapist = staff(clinic, Role.THERAPIST)
    reads_in(therapist, "es")
    sign_in(page, live_server.url, therapist)
    first = page.locator("table.caseload tbody tr th a").first
    page.goto(live_server.url + first.get_attribute("href"))
    plan_url = page.locator("a[href$='/plan/']").first.get_attribute("href")
    open_and_check(page, live_server.url + plan_url, "Plan de medición")
    for select in page.locator("form.plan select").all():
        box = select.bounding_box()
        assert box is not None and box["width"] >= PHONE["width"] * 0.8
        assert select.evaluate("s => s.scrollWidth <= s.clientWidth + 1"), "title cut off"
    assert page.get_by_text("Cuestionario (fila 1)").is_visible()
    page.get_by_role("button", name="Guardar el plan").click()
    page.wait_for_load_state()
    assert "Se guardó el plan de medición de este cliente." in page.locator("main").inner_text()
