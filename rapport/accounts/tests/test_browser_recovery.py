"""Real-browser test of account recovery (#17.4): a clinic admin unlocks a locked-out
therapist and gives them a temporary password; the therapist signs in with it, must
choose their own, passes the authenticator step and reaches the caseload.

Playwright driving Debian's Chromium; every page is checked with axe-core.
"""

from __future__ import annotations

import pytest

from rapport.accounts import lockout
from rapport.accounts.models import Role, User
from rapport.browser_testing import check_accessibility, require_browser_tools, sign_in
from rapport.testing import make_organisation, make_user, totp_code

TEMPORARY = "plum orchard at dawn 42"
THEIR_OWN = "seven quiet herons over the lake"

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def people(live_server):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    organisation = make_organisation()
    admin = make_user(organisation, Role.CLINIC_ADMIN, first_name="Ana", last_name="Reyes")
    therapist = make_user(organisation, Role.THERAPIST, first_name="Lee", last_name="Vu")
    for user in (admin, therapist):
        TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    for _ in range(lockout.RULES[0].limit):
        lockout.record_failure(therapist.username, "127.0.0.1")
    return admin, therapist


def test_admin_unlocks_and_resets_then_the_therapist_chooses_a_password(
    live_server, new_page, people
):
    admin, therapist = people
    page = new_page()
    sign_in(page, live_server.url, admin)
    page.click("nav >> text=Staff")
    row = page.locator("tr", has_text="Lee Vu")
    assert "locked until" in row.inner_text()
    check_accessibility(page)

    row.locator("text=unlock").click()
    page.wait_for_selector("h1:has-text('Lee Vu')")
    check_accessibility(page)
    page.click("text=Unlock now")
    page.wait_for_selector(f"text={therapist.username} can sign in again.")
    assert "Not locked." in page.content()

    page.fill("#id_new_password1", TEMPORARY)
    page.fill("#id_new_password2", TEMPORARY)
    page.click("text=Set temporary password")
    page.wait_for_selector(f"text=Temporary password set for {therapist.username}")
    check_accessibility(page)
    page.click("nav >> text=Staff")
    assert "open" in page.locator("tr", has_text="Lee Vu").inner_text()

    theirs = new_page()
    theirs.goto(live_server.url + "/")
    theirs.fill("#id_username", therapist.username)
    theirs.fill("#id_password", TEMPORARY)
    theirs.click("main button[type=submit]")
    theirs.wait_for_selector("h1:has-text('Choose your password')")
    check_accessibility(theirs)
    theirs.fill("#id_new_password1", THEIR_OWN)
    theirs.fill("#id_new_password2", THEIR_OWN)
    theirs.click("main form button[type=submit]")
    theirs.wait_for_url("**/mfa/**")
    check_accessibility(theirs)
    theirs.fill("input[name=code]", totp_code(therapist.totpdevice_set.get()))
    theirs.click("main form button[type=submit]")
    theirs.wait_for_url(live_server.url + "/")
    theirs.wait_for_selector("nav >> text=Caseload")
    check_accessibility(theirs)
    stored = User.objects.get(pk=therapist.pk)
    assert stored.check_password(THEIR_OWN)
    assert not stored.must_change_password
