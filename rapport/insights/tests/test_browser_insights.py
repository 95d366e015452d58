"""Real-browser test of the insight pages: every page as supervisor and as researcher,
with a filter chosen in the page's filter form (a period and the supervisor's own team; a
period and a site for the researcher) and carried from page to page by the links.

Each page must pass axe-core (WCAG 2.1 AA, no serious or critical violation) and show at
least one chart whose image has a text alternative, with its data table behind a
disclosure. Set ``RAPPORT_INSIGHTS_SCREENSHOTS=docs/screenshots`` to write the screenshots
used in docs/insights.md.

Needs: ``apt-get install chromium``, ``pip install playwright`` (never ``playwright
install``: the Debian browser is used) and ``npm ci`` for axe-core.
"""

from __future__ import annotations

import os

import pytest
from django.urls import reverse

from rapport.browser_testing import (
    can_sign_in,
    check_accessibility,
    require_browser_tools,
    save_screenshot,
    sign_in,
)
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.insights.views import PAGES

SCREENSHOTS = os.environ.get("RAPPORT_INSIGHTS_SCREENSHOTS")

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


def apply_filter(page, role: str, clinic) -> list[str]:
    """Choose a filter in the form as a user would; returns the words the page shows for it.

    A supervisor: a year from July to June and their own team; a researcher (whole
    calendar years only): 2025 and a site.
    """
    if role == "supervisor":
        page.fill("#id_from", "2025-07")
        page.fill("#id_to", "2026-06")
        page.select_option("#id_team", str(clinic.supervisor.public_id))
        expected = ["July 2025 to June 2026", f"Team of {clinic.supervisor}"]
    else:
        page.fill("#id_from", "2025-01")
        page.fill("#id_to", "2025-12")
        page.select_option("#id_site", label="Eastside office")
        expected = ["January 2025 to December 2025", "Site: Eastside office"]
    page.get_by_role("button", name="Apply").click()
    page.wait_for_load_state()
    return expected


@pytest.mark.parametrize("role", ["supervisor", "researcher"])
def test_every_insight_page_is_accessible_and_shows_a_described_chart(live_server, page, role):
    clinic = make_synth_clinic()
    sign_in(page, live_server.url, can_sign_in(getattr(clinic, role)))
    page.goto(live_server.url + reverse("insights-outcomes"))
    check_accessibility(page)  # the filter form itself, before any filter
    expected = apply_filter(page, role, clinic)
    for name, title in PAGES.items():
        if name != "outcomes":  # the others are reached by the links that keep the filter
            page.get_by_role("navigation", name="Insight pages").get_by_role(
                "link", name=str(title)
            ).click()
            page.wait_for_load_state()
        status = page.get_by_role("status").filter(has_text="Showing:").inner_text()
        assert all(words in status for words in expected), (name, status)
        assert "from=" in page.url and "to=" in page.url, name
        charts = page.locator("figure.chart")
        assert charts.count() >= 1, name
        first = charts.first
        assert first.locator("img.chart-image").get_attribute("alt").strip(), name
        assert first.locator("img.chart-image").evaluate("img => img.naturalWidth") > 0, name
        assert first.locator("details table").count() == 1, name
        check_accessibility(page)
        if role == "supervisor" and name in ("equity", "outcomes"):
            save_screenshot(page, SCREENSHOTS, f"insights-{name}", full_page=False)
        if name == "equity":
            # The tables, once the whole page, wait behind their disclosures.
            height = "document.documentElement.scrollHeight"
            at_first = page.evaluate(height)
            page.evaluate(
                "document.querySelectorAll('details.insight-collapsed').forEach(d => d.open = true)"
            )
            print(f"equity page: {at_first} px at first, {page.evaluate(height)} px opened")
            assert at_first < page.evaluate(height) / 2
