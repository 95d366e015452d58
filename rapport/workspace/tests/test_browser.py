"""Real-browser test of the workspace: Playwright driving Debian's Chromium.

A therapist signs in with password and authenticator code, opens the most urgent client
from the caseload, acknowledges the safety alert with how the client was reached, the
outcome of the risk review and a note, sees the risk stay marked, opens the brief,
records the risk as resolved and downloads the PDF report. Caseload, client page and
brief are checked with axe-core.
Set ``RAPPORT_WORKSPACE_SCREENSHOTS=docs/screenshots`` to write the screenshots used in
docs/workspace.md.

Needs: ``apt-get install chromium``, ``pip install playwright`` (never ``playwright
install``: the Debian browser is used) and ``npm ci`` for axe-core.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.utils import timezone

from rapport.browser_testing import (
    DESKTOP,
    check_accessibility,
    require_browser_tools,
    save_screenshot,
    sign_in,
)
from rapport.checkin.models import Alert
from rapport.core.instruments import instruments
from rapport.testing import make_organisation, make_user
from rapport.workspace.sample import seed_caseload

SCREENSHOTS = os.environ.get("RAPPORT_WORKSPACE_SCREENSHOTS")

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def browser_context_args():
    return {"viewport": DESKTOP, "accept_downloads": True}


@pytest.fixture
def therapist(live_server):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    organisation = make_organisation()
    supervisor = make_user(organisation, "supervisor", first_name="Sam", last_name="Okafor")
    therapist = make_user(
        organisation, supervisor=supervisor, first_name="Alex", last_name="Rivera"
    )
    TOTPDevice.objects.create(user=therapist, name="phone", confirmed=True)
    seed_caseload(therapist, instruments(), n_clients=14, n_sessions=12, prefix="R-")
    return therapist


def screenshot(page, name: str) -> None:
    save_screenshot(page, SCREENSHOTS, f"workspace-{name}", full_page=True)


def test_therapist_acknowledges_the_most_urgent_alert_and_downloads_the_report(
    live_server, page, therapist
):
    sign_in(page, live_server.url, therapist)
    assert page.locator("h1").inner_text() == "Caseload"
    first_row = page.locator("table.caseload tbody tr").first
    assert "Safety:" in first_row.inner_text()
    check_accessibility(page)
    screenshot(page, "caseload")

    first_row.locator("th a").first.click()
    page.wait_for_selector("h1:has-text('Client')")
    record_number = page.locator("h1").inner_text().removeprefix("Client ")
    assert page.locator("img.chart-image").count() >= 3
    check_accessibility(page)
    screenshot(page, "client")

    # The acknowledgement is a clinical record: how the client was reached and what the
    # risk review found are required; without them nothing is acknowledged.
    form = page.locator("form.acknowledge").first
    form.locator("textarea").fill("Safety plan reviewed together; sister aware.")
    form.get_by_label("By phone").check()
    form.get_by_label("Risk present, safety plan reviewed").check()
    form.locator("button").click()
    page.wait_for_selector("text=Alert acknowledged")
    assert "Safety (acknowledged)" in page.content()
    alert = Alert.objects.get(client__record_number=record_number)
    assert alert.acknowledged_by == therapist
    assert (alert.contact_method, alert.risk_outcome) == ("phone", "risk_present_plan_reviewed")
    assert alert.acknowledgement_note == "Safety plan reviewed together; sister aware."
    # No check-in has taken item 9 back since, so the risk stays marked.
    marker = page.locator("li.flag-marker").first
    assert "; no check-in since." in marker.inner_text()
    assert page.locator("table.risk-history").count() >= 1
    check_accessibility(page)

    with page.expect_download() as download_info:
        page.click("text=Progress report (PDF)")
    path = download_info.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")

    page.click("text=Pre-session brief")
    page.wait_for_selector("h1:has-text('Before the session')")
    assert "Risk reviewed" in page.locator("section.brief-safety").inner_text()
    check_accessibility(page)

    # Recording the risk as resolved takes the marker off.
    page.go_back()
    resolve = page.locator("form.resolve-risk").first
    resolve.locator("textarea").fill("Seen with the GP; risk judged resolved.")
    resolve.locator("button").click()
    page.wait_for_selector("text=Risk recorded as resolved.")
    assert page.locator("li.flag-marker").count() == 0
    alert.refresh_from_db()
    assert alert.resolved_by == therapist

    # The brief of a client whose trust fell: the comment and the relationship suggestions.
    page.goto(live_server.url + "/")
    page.locator("table.caseload tbody tr", has_text="Trust fell").first.locator(
        "text=Brief"
    ).click()
    page.wait_for_selector("h2:has-text('Talking about the relationship')")
    assert "rushed" in page.locator("blockquote").inner_text()
    check_accessibility(page)
    screenshot(page, "brief")


def test_therapist_adds_closes_reopens_and_hands_over_a_client(live_server, page, therapist):
    colleague = make_user(therapist.organisation, first_name="Jordan", last_name="Lee")
    sign_in(page, live_server.url, therapist)
    page.click("text=Add a client")
    page.wait_for_selector("h1:has-text('New client')")
    check_accessibility(page)
    page.fill("#id_record_number", "R-9001")
    page.fill("#id_given_name", "Marisol")
    page.select_option("#id_preferred_language", "es")
    page.check("#id_consents_to_care")
    page.click("main form.intake button[type=submit]")
    page.wait_for_selector("text=Client R-9001 added.")
    # The treating therapist reads the client's name beside the record number.
    assert page.locator("h1").inner_text() == "Marisol (R-9001)"
    check_accessibility(page)

    # The caseload's search finds her by name, whatever the case; the filter stays in the URL.
    page.goto(live_server.url + "/")
    page.fill("#id_q", "MARISOL")
    page.click("form.caseload-filters button[type=submit]")
    page.wait_for_selector("text=Showing 1 of 15 active clients.")
    assert "q=MARISOL" in page.url
    assert "Marisol R-9001" in page.locator("table.caseload tbody").inner_text()
    check_accessibility(page)
    page.click("table.caseload tbody th a >> nth=0")
    page.wait_for_selector("h1:has-text('R-9001')")

    # Closed by mistake, found again among the closed episodes, and reopened.
    # Nothing is preselected: the browser refuses the form until day, reason and
    # confirmation are given.
    page.click("form.close-episode button[type=submit]")
    assert page.locator("text=Episode closed.").count() == 0
    page.fill("form.close-episode input[type=date]", timezone.localdate().isoformat())
    page.select_option("form.close-episode select", "completed")
    page.check("form.close-episode input[name=confirm]")
    page.click("form.close-episode button[type=submit]")
    page.wait_for_selector("text=Episode closed.")
    page.goto(live_server.url + "/closed/")
    check_accessibility(page)
    page.click("text=R-9001")
    page.click("form.reopen-episode button[type=submit]")
    page.wait_for_selector("text=Episode reopened")

    page.select_option("form.hand-over select", str(colleague.pk))
    page.check("form.hand-over input[name=confirm]")
    page.click("form.hand-over button[type=submit]")
    page.wait_for_selector("text=R-9001 handed over to Jordan Lee on")
    assert page.locator("h1").inner_text() == "Caseload"
    assert "R-9001" not in page.locator("table.caseload").inner_text()
