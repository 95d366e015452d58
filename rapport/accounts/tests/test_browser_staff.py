"""Real-browser test of the staff pages: a clinic admin adds a therapist and closes an account.

Playwright driving Debian's Chromium; both pages are checked with axe-core. Needs what
the other browser tests need (see rapport/browser_testing.py).
"""

from __future__ import annotations

import os

import pytest

from rapport.accounts.models import Role, User
from rapport.browser_testing import (
    check_accessibility,
    require_browser_tools,
    save_screenshot,
    sign_in,
)
from rapport.testing import make_organisation, make_user

NEW_PASSWORD = "plum orchard at dawn 42"
# The same switch as the workspace's browser test: where to write the docs' screenshots.
SCREENSHOTS = os.environ.get("RAPPORT_WORKSPACE_SCREENSHOTS")

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def clinic_admin(live_server):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    organisation = make_organisation()
    make_user(organisation, Role.SUPERVISOR, first_name="Sam", last_name="Okafor")
    make_user(organisation, Role.THERAPIST, username="leaving", first_name="Lee", last_name="Vu")
    admin = make_user(organisation, Role.CLINIC_ADMIN, first_name="Ana", last_name="Reyes")
    TOTPDevice.objects.create(user=admin, name="phone", confirmed=True)
    return admin


def test_admin_adds_a_therapist_and_closes_an_account(live_server, page, clinic_admin):
    sign_in(page, live_server.url, clinic_admin)

    page.click("nav >> text=Staff")
    page.wait_for_selector("h1:has-text('Staff accounts')")
    check_accessibility(page)

    page.click("text=Add a staff account")
    page.wait_for_selector("h1:has-text('New staff account')")
    check_accessibility(page)
    save_screenshot(page, SCREENSHOTS, "workspace-staff-new", full_page=True)
    page.fill("#id_username", "noor.h")
    page.fill("#id_first_name", "Noor")
    page.fill("#id_last_name", "Haddad")
    page.select_option("#id_role", Role.THERAPIST)
    page.select_option("#id_supervisor", label="Sam Okafor")
    page.fill("#id_password1", NEW_PASSWORD)
    page.fill("#id_password2", NEW_PASSWORD)
    page.click("main form.staff button[type=submit]")
    page.wait_for_selector("text=Account noor.h created.")
    assert "Noor Haddad" in page.locator("table").inner_text()
    save_screenshot(page, SCREENSHOTS, "workspace-staff", full_page=True)
    assert User.objects.get(username="noor.h").supervisor.last_name == "Okafor"

    page.click("text=Lee Vu")
    page.wait_for_selector("h1:has-text('Lee Vu')")
    check_accessibility(page)
    page.uncheck("#id_is_active")
    page.click("main form.staff button[type=submit]")
    page.wait_for_selector("text=Account leaving saved.")
    assert "closed" in page.locator("tr", has_text="Lee Vu").inner_text()
    assert not User.objects.get(username="leaving").is_active
