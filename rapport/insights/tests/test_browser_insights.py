"""Real-browser test of the insight pages: every page as supervisor and as researcher.

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

DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = os.environ.get("RAPPORT_INSIGHTS_SCREENSHOTS")

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def page(browser):
    # bypass_csp only lets the test inject axe-core; the pages keep their CSP.
    context = browser.new_context(viewport=DESKTOP, bypass_csp=True)
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("role", ["supervisor", "researcher"])
def test_every_insight_page_is_accessible_and_shows_a_described_chart(live_server, page, role):
    clinic = make_synth_clinic()
    sign_in(page, live_server.url, can_sign_in(getattr(clinic, role)))
    for name in PAGES:
        page.goto(live_server.url + reverse(f"insights-{name.replace('_', '-')}"))
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
