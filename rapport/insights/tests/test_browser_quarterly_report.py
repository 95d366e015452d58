"""Real-browser test of the quarterly report form on the insights page (#20.7).

The form must pass axe-core and download the PDF of the chosen quarter and team. Needs
what test_browser_insights.py needs (Debian chromium, Playwright, axe-core via npm).
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from pypdf import PdfReader

from rapport.browser_testing import check_accessibility, require_browser_tools, sign_in
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.insights.tests.test_browser_insights import can_sign_in

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


def test_a_clinic_admin_downloads_a_teams_quarterly_report_from_the_insights_page(
    live_server, page
):
    clinic = make_synth_clinic(clients=120)
    sign_in(page, live_server.url, can_sign_in(clinic.clinic_admin))
    page.goto(live_server.url + reverse("insights"))
    check_accessibility(page)
    page.get_by_label("Quarter", exact=True).select_option("2026-Q1")
    page.get_by_label("Scope", exact=True).select_option(label=f"Team of {clinic.supervisor}")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the quarterly report (PDF)").click()
    assert download.value.suggested_filename.endswith("-trust-report-2026-Q1-team.pdf")
    pdf = PdfReader(download.value.path())
    text = " ".join(pdf_page.extract_text() for pdf_page in pdf.pages)
    assert "Q1 2026 (January to March)" in text
    assert f"Team of {clinic.supervisor}" in text
