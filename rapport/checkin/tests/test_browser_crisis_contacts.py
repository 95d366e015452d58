"""Real-browser test of the clinic admin's crisis contacts page, with axe-core.

A clinic admin opens *Crisis contacts* from the navigation, types the clinic's Spanish
lines, previews them (the client's crisis box, in Spanish) and saves them.
Needs what the other browser tests need (see rapport/browser_testing.py).
"""

from __future__ import annotations

import pytest

from rapport.accounts.models import Role
from rapport.browser_testing import check_accessibility, require_browser_tools, sign_in
from rapport.checkin.models import CheckinSettings
from rapport.checkin.tests.test_crisis import SPANISH_HEADING
from rapport.testing import make_organisation, make_user

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]

SPANISH_LINES = ["Guardia de la clínica: 555 0100", "Urgencias: 911"]


@pytest.fixture
def clinic_admin(live_server):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    admin = make_user(make_organisation(), Role.CLINIC_ADMIN, first_name="Ana")
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    return admin


def test_admin_previews_and_saves_spanish_crisis_contacts(live_server, page, clinic_admin):
    sign_in(page, live_server.url, clinic_admin)
    page.click("nav >> text=Crisis contacts")
    page.wait_for_selector("h1:has-text('Crisis contacts')")
    check_accessibility(page)

    spanish = page.locator("section.crisis-language").nth(1)
    spanish.locator("textarea").fill("\n".join(SPANISH_LINES))
    spanish.get_by_role("button", name="Preview").click()
    page.wait_for_load_state()
    preview = page.locator(".crisis-preview[lang=es] .ck-crisis")
    assert preview.locator("h2").inner_text() == SPANISH_HEADING
    assert preview.locator("li").all_inner_texts() == SPANISH_LINES
    assert not CheckinSettings.objects.exists()  # a preview saves nothing
    check_accessibility(page)

    page.locator("section.crisis-language").nth(1).get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    assert "Crisis contacts in Español saved." in page.locator(".messages").inner_text()
    stored = CheckinSettings.objects.get(organisation=clinic_admin.organisation)
    assert stored.crisis_resources == {"es": "\n".join(SPANISH_LINES)}
