"""Finished pages: error pages with navigation and no record data, one log line per
ordinary 403/404, a landing page per role, plurals, and one way to write a duration."""

from __future__ import annotations

import datetime
import logging
import sys

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.models import Alert, AlertKind
from rapport.core.log_filters import OneLineClientErrors
from rapport.testing import add_session, login_verified, make_episode, make_two_clinics
from rapport.workspace.durations import duration_text

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinics():
    return make_two_clinics()


@pytest.mark.parametrize(
    ("persona", "landing"),
    [
        ("owner", None),
        ("supervisor", None),
        ("clinic_admin", "staff-list"),
        ("researcher", "insights"),
    ],
)
def test_each_role_lands_on_its_own_page(client, clinics, persona, landing):
    login_verified(client, clinics.staff[persona])
    response = client.get(reverse("home"))
    if landing is None:
        assert response.status_code == 200
        assert "<h1>Caseload</h1>" in response.content.decode()
    else:
        assert response.status_code == 302 and response.url == reverse(landing)


@override_settings(DEBUG=False)
def test_the_404_page_has_navigation_and_no_record_data(client, clinics):
    login_verified(client, clinics.colleague)
    response = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    page = response.content.decode()
    assert response.status_code == 404
    assert 'nav aria-label="Account"' in page and "Page not found" in page
    assert clinics.owner_client.record_number not in page
    assert str(clinics.owner_client.public_id) not in page


@override_settings(DEBUG=False)
def test_the_403_page_has_navigation_and_says_what_to_do(client, clinics):
    login_verified(client, clinics.researcher)
    response = client.get(reverse("client-new"))
    page = response.content.decode()
    assert response.status_code == 403
    assert 'nav aria-label="Account"' in page and "not open to your role" in page


def test_an_ordinary_403_is_logged_in_one_line(client, clinics, caplog):
    login_verified(client, clinics.researcher)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get(reverse("client-new")).status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.getMessage() for r in records] == ["Forbidden (Permission denied): /clients/new/"]
    assert records[0].exc_info is None and records[0].exc_text is None


def test_a_server_error_keeps_its_traceback():
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "Internal Server Error", (), exc_info
    )
    record.status_code = 500
    assert OneLineClientErrors().filter(record)
    assert record.exc_info == exc_info


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (datetime.timedelta(hours=137.9), "5 days, 17 hours"),
        (datetime.timedelta(days=1), "1 day"),
        (datetime.timedelta(days=1, hours=1), "1 day, 1 hour"),
        (datetime.timedelta(hours=3, minutes=5), "3 hours, 5 minutes"),
        (datetime.timedelta(minutes=1), "1 minute"),
        (datetime.timedelta(seconds=20), "less than a minute"),
    ],
)
def test_a_duration_reads_in_days_and_hours(delta, text):
    assert duration_text(delta) == text


def test_a_negative_duration_is_an_error():
    with pytest.raises(ValueError, match="negative"):
        duration_text(datetime.timedelta(hours=-1))


def test_the_team_view_writes_time_to_acknowledge_one_way(client, clinics):
    episode = clinics.owner_episode
    raised = timezone.now() - datetime.timedelta(days=10)
    Alert.objects.create(
        organisation=clinics.organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=episode.client,
        episode=episode,
        session=episode.sessions.get(number=1),
        code="phq9_9",
        raised_at=raised,
        acknowledged_at=raised + datetime.timedelta(hours=137.9),
        acknowledged_by=clinics.owner,
    )
    login_verified(client, clinics.supervisor)
    page = client.get(reverse("team")).content.decode()
    assert "Median time to acknowledge an alert: 5 days, 17 hours." in page
    assert page.count("5 days, 17 hours") == 2  # the median and the alert's own row
    assert "137.9 h" not in page


def test_one_session_attended_is_singular(client, clinics):
    episode = make_episode(clinics.owner, record_number="R-ONE")
    add_session(episode, 1)
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[episode.client.public_id])).content.decode()
    assert "1 session attended" in page and "1 sessions attended" not in page
    brief = client.get(reverse("episode-brief", args=[episode.public_id])).content.decode()
    assert "1 session attended" in brief and "1 sessions attended" not in brief
