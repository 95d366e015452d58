"""Real-browser test of safety notices: the admin's settings page and the client page's
notice table, both checked with axe-core. Needs what the other browser tests need (see
rapport/browser_testing.py).
"""

from __future__ import annotations

import datetime

import pytest
from django.core import mail
from django.test import override_settings

from rapport.accounts.models import Role
from rapport.browser_testing import check_accessibility, require_browser_tools, sign_in
from rapport.checkin import delivery
from rapport.checkin.models import Alert, SafetyNoticeSettings
from rapport.checkin.submit import submit_checkin
from rapport.checkin.tests.helpers import full_answers
from rapport.checkin.views import _posted_answers
from rapport.testing import issue_checkin_link, make_episode, make_organisation, make_user

require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


def _with_app(user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    return user


def test_the_admin_sets_the_fallback_contact(live_server, page):
    organisation = make_organisation()
    admin = _with_app(make_user(organisation, Role.CLINIC_ADMIN, first_name="Ana"))
    sign_in(page, live_server.url, admin)

    page.click("nav >> text=Safety notices")
    page.wait_for_selector("h1:has-text('Safety notices')")
    check_accessibility(page)
    page.fill("#id_supervisor_after_minutes", "60")
    page.fill("#id_fallback_email", "duty@example.org")
    page.click("main form.staff button[type=submit]")
    page.wait_for_selector("text=Safety notice settings saved.")
    check_accessibility(page)
    saved = SafetyNoticeSettings.objects.get(organisation=organisation)
    assert (saved.supervisor_after_minutes, saved.fallback_email) == (60, "duty@example.org")


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_the_therapist_sees_who_was_told(live_server, page):
    organisation = make_organisation()
    supervisor = make_user(organisation, Role.SUPERVISOR, email="sup@example.org")
    therapist = _with_app(
        make_user(organisation, Role.THERAPIST, supervisor=supervisor, email="t@example.org")
    )
    episode = make_episode(therapist, sessions=1)
    issued = issue_checkin_link(episode)
    submit_checkin(issued.token, _posted_answers(full_answers(2)), comment="", language="en")
    raised = Alert.objects.get().raised_at
    delivery.send_due(raised + datetime.timedelta(hours=2))
    assert len(mail.outbox) == 2  # the therapist at once, the supervisor two hours on

    sign_in(page, live_server.url, therapist)
    page.goto(f"{live_server.url}/clients/{episode.client.public_id}/")
    table = page.locator("table.safety-notices")
    table.wait_for()
    text = table.inner_text()
    assert "Treating therapist" in text and "Supervisor" in text and "Sent" in text
    check_accessibility(page)
