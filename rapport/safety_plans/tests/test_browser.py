"""Real-browser test of the safety plan: written by the therapist, printed in Spanish.

The plan page and the print page are checked with axe-core. Needs what the other browser
tests need (see rapport/browser_testing.py).
"""

from __future__ import annotations

import pytest

from rapport.browser_testing import check_accessibility, require_browser_tools, sign_in
from rapport.safety_plans.models import SafetyPlan
from rapport.testing import make_episode, make_organisation, make_user, set_demographics

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


@pytest.fixture
def episode(live_server):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    therapist = make_user(make_organisation(), first_name="Alex")
    TOTPDevice.objects.create(user=therapist, name="phone", confirmed=True)
    episode = make_episode(therapist, sessions=1)
    set_demographics(episode.client, language="es")
    return episode


def test_therapist_writes_a_plan_and_prints_it_in_spanish(live_server, page, episode):
    sign_in(page, live_server.url, episode.therapist)
    page.goto(f"{live_server.url}/clients/{episode.client.public_id}/")
    page.get_by_role("link", name="Safety plan", exact=True).click()
    page.wait_for_selector("h1:has-text('Safety plan for')")
    check_accessibility(page)
    assert page.locator("#id_language").input_value() == "es"

    page.get_by_label("Signs that a hard time is starting").fill("No duermo\nMe aíslo")
    page.get_by_label("Making my surroundings safer").fill("Mi hermana guarda las pastillas")
    page.get_by_label("Name (person 1)").fill("Ana")
    page.get_by_label("Phone (person 1)").fill("555 0142")
    page.get_by_role("button", name="Save safety plan").click()
    page.wait_for_load_state()
    assert "Safety plan saved." in page.locator(".messages").inner_text()
    plan = SafetyPlan.objects.get(episode=episode)
    assert plan.lines("warning_signs") == ["No duermo", "Me aíslo"]

    page.get_by_role("link", name="Print for the client").click()
    page.wait_for_selector("h1:has-text('Mi plan de seguridad')")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Señales de que empieza un momento difícil" in page.locator("main").inner_text()
    check_accessibility(page)
