"""Scheduling sessions: within the episode, never two at the same minute for one therapist,
a weekly or fortnightly series saved all or nothing, and the table shows the time."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from rapport.clinic.models import Session, SessionStatus
from rapport.security.models import AuditEvent
from rapport.testing import make_episode
from rapport.workspace import actions

pytestmark = pytest.mark.django_db


def _schedule(http, episode, **data):
    url = reverse("episode-schedule", args=[episode.public_id])
    return http.post(url, data, follow=True).content.decode()


def _at(*args) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime(*args))


def test_a_session_before_the_episode_began_is_refused(therapist_client, clinics):
    episode = clinics.owner_episode  # started 5 Jan 2026
    page = _schedule(therapist_client, episode, scheduled_at="2026-01-04T09:00")
    assert "Not scheduled: the episode began on 5 Jan 2026" in page
    assert episode.sessions.count() == 2


def test_a_session_after_the_episode_ended_is_refused(clinics):
    from rapport.workspace.forms import ScheduleSessionForm

    episode = clinics.owner_episode
    episode.ended_on = datetime.date(2026, 6, 30)
    form = ScheduleSessionForm({"scheduled_at": "2026-07-01T09:00"}, episode=episode)
    assert not form.is_valid()
    assert "the episode ended on 30 Jun 2026" in form.error_sentence()


def test_two_sessions_of_one_therapist_at_the_same_minute_are_refused(therapist_client, clinics):
    other = make_episode(clinics.owner, record_number="R-OTHER")  # another client, same therapist
    _schedule(therapist_client, other, scheduled_at="2026-12-10T09:00")
    page = _schedule(therapist_client, clinics.owner_episode, scheduled_at="2026-12-10T09:00")
    assert "Not scheduled: you already have a session on 10 Dec 2026 at 09:00" in page
    assert clinics.owner_episode.sessions.count() == 2


def test_a_cancelled_session_frees_its_time(therapist_client, clinics):
    episode = clinics.owner_episode
    _schedule(therapist_client, episode, scheduled_at="2026-12-10T09:00")
    episode.sessions.filter(number=3).update(status=SessionStatus.CANCELLED)
    page = _schedule(therapist_client, episode, scheduled_at="2026-12-10T09:00")
    assert "Session 4 scheduled for 10 Dec 2026 09:00." in page


def test_a_colleague_may_see_another_client_at_the_same_minute(therapist_client, clinics):
    theirs = make_episode(clinics.colleague, record_number="R-THEIRS")
    theirs.sessions.create(number=1, scheduled_at=_at(2026, 12, 10, 9, 0))
    page = _schedule(therapist_client, clinics.owner_episode, scheduled_at="2026-12-10T09:00")
    assert "Session 3 scheduled for 10 Dec 2026 09:00." in page


def test_a_weekly_series_schedules_every_session_audited(therapist_client, clinics):
    episode = clinics.owner_episode
    page = _schedule(
        therapist_client, episode, scheduled_at="2026-12-10T09:00", repeat="weekly", count="4"
    )
    sessions = list(episode.sessions.filter(number__gte=3).order_by("number"))
    assert [s.scheduled_at for s in sessions] == [
        _at(2026, 12, 10, 9, 0),
        _at(2026, 12, 17, 9, 0),
        _at(2026, 12, 24, 9, 0),
        _at(2026, 12, 31, 9, 0),
    ]
    assert [s.number for s in sessions] == [3, 4, 5, 6]
    assert "4 sessions scheduled, weekly from 10 Dec 2026 09:00." in page
    assert AuditEvent.objects.filter(action="session.schedule").count() == 4


def test_a_fortnightly_series_is_two_weeks_apart(therapist_client, clinics):
    episode = clinics.owner_episode
    _schedule(
        therapist_client, episode, scheduled_at="2026-12-10T09:00", repeat="fortnightly", count="2"
    )
    times = list(episode.sessions.filter(number__gte=3).values_list("scheduled_at", flat=True))
    assert times == [_at(2026, 12, 10, 9, 0), _at(2026, 12, 24, 9, 0)]


def test_a_series_with_one_clash_saves_nothing(therapist_client, clinics):
    other = make_episode(clinics.owner, record_number="R-OTHER")
    other.sessions.create(number=1, scheduled_at=_at(2026, 12, 24, 9, 0))
    page = _schedule(
        therapist_client,
        clinics.owner_episode,
        scheduled_at="2026-12-10T09:00",
        repeat="weekly",
        count="4",
    )
    assert "you already have a session on 24 Dec 2026 at 09:00" in page
    assert clinics.owner_episode.sessions.count() == 2
    assert not AuditEvent.objects.filter(action="session.schedule").exists()


@pytest.mark.parametrize(
    ("count", "message"),
    [("0", "at least 1"), ("27", "at most 26"), ("many", "whole number")],
)
def test_a_series_count_outside_1_to_26_is_refused(therapist_client, clinics, count, message):
    page = _schedule(
        therapist_client,
        clinics.owner_episode,
        scheduled_at="2026-12-10T09:00",
        repeat="weekly",
        count=count,
    )
    assert "Not scheduled:" in page and message in page
    assert clinics.owner_episode.sessions.count() == 2


def test_the_sessions_table_shows_date_and_time(therapist_client, clinics):
    episode = clinics.owner_episode
    _schedule(therapist_client, episode, scheduled_at="2026-12-10T09:30")
    page = therapist_client.get(reverse("client-detail", args=[episode.client.public_id]))
    sessions = page.content.decode().split('id="sessions"')[1].split("</table>")[0]
    assert "10 Dec 2026 09:30" in sessions


@pytest.mark.django_db(transaction=True)
def test_two_clients_booked_at_one_minute_at_once_get_one_session(clinics):
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is one shared in-memory connection; threads test PG")
    episodes = [clinics.owner_episode, make_episode(clinics.owner, record_number="R-OTHER")]
    when = [_at(2026, 12, 10, 9, 0)]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def book(episode) -> None:
        try:
            barrier.wait()
            actions.schedule_sessions(None, episode, when)
            outcomes.append("scheduled")
        except actions.SchedulingError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=[e]) for e in episodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [
        "scheduled",
        "you already have a session on 10 Dec 2026 at 09:00.",
    ]
    assert Session.objects.filter(scheduled_at=when[0]).count() == 1
