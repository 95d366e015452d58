"""Real-browser test of sending a check-in link by e-mail, with axe-core, desktop and phone.

A therapist creates a check-in link (the QR page), sends it by e-mail from there, reads
the confirmation and the message's status on the client page, then resends it from the
worklist. Needs what the other browser tests need (see rapport/browser_testing.py).
"""

from __future__ import annotations

import datetime
import os

import pytest
from django.core import mail
from django.utils import timezone

from rapport.browser_testing import (
    check_accessibility,
    require_browser_tools,
    save_screenshot,
    sign_in,
)
from rapport.clinic.models import ClientIdentity
from rapport.testing import make_episode, make_organisation, make_user, schedule_next_session

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]

SCREENSHOTS = os.environ.get("RAPPORT_CHECKIN_SCREENSHOTS")
VIEWPORTS = {"desktop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(params=sorted(VIEWPORTS))
def viewport_name(request):
    return request.param


@pytest.fixture
def browser_context_args(viewport_name):
    return {"viewport": VIEWPORTS[viewport_name]}


@pytest.fixture
def therapist(live_server):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    therapist = make_user(make_organisation(), first_name="Alex", last_name="Rivera")
    TOTPDevice.objects.create(user=therapist, name="phone", confirmed=True)
    return therapist


def test_therapist_sends_the_link_by_e_mail_then_resends_it(
    live_server, page, therapist, viewport_name
):
    episode = make_episode(therapist, record_number="R-7001")
    ClientIdentity.objects.create(client=episode.client, email="client@example.org")
    schedule_next_session(episode, timezone.now() + datetime.timedelta(days=1))
    sign_in(page, live_server.url, therapist)

    page.goto(f"{live_server.url}/clients/{episode.client.public_id}/")
    page.get_by_role("button", name="Create a check-in link (QR code)").click()
    page.wait_for_selector("h1:has-text('Check-in for session 1')")
    check_accessibility(page)
    save_screenshot(page, SCREENSHOTS, f"send-link-qr-{viewport_name}", full_page=True)

    page.get_by_role("button", name="Send by e-mail").click()
    page.wait_for_selector("text=Check-in link for session 1 sent by e-mail.")
    assert [message.to for message in mail.outbox] == [["client@example.org"]]
    messages = page.locator("table.checkin-messages")
    assert "Invitation" in messages.inner_text() and "Sent" in messages.inner_text()
    check_accessibility(page)
    save_screenshot(page, SCREENSHOTS, f"send-link-client-{viewport_name}", full_page=True)

    page.goto(f"{live_server.url}/worklist/")
    page.get_by_role("button", name="Resend link").click()
    page.wait_for_selector("text=Check-in link for session 1 sent by e-mail.")
    assert len(mail.outbox) == 2
    check_accessibility(page)
