"""Intake, scheduling and closing: a client on a therapist's caseload from first to last day.

Which roles reach the page is in the authorization matrix; here, what intake stores and
what it refuses.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from rapport.clinic.models import Client, ConsentKind, Episode, EpisodeStatus, MeasurementPlan
from rapport.security.models import AuditEvent
from rapport.security.rights import current_consents
from rapport.testing import issue_checkin_link, login_verified
from rapport.workspace import actions

pytestmark = pytest.mark.django_db


def intake(**changes) -> dict:
    data = {
        "record_number": "R-2041",
        "given_name": "Marisol",
        "family_name": "Quintero",
        "email": "marisol@example.org",
        "phone": "+1 555 0100",
        "preferred_language": "es",
        "first_session_at": "2026-12-03T15:30",
        "consents_to_care": "on",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_new_client_joins_the_therapists_caseload_ready_to_check_in(therapist_client, clinics):
    response = therapist_client.post(reverse("client-new"), intake())
    new = Client.objects.get(record_number="R-2041")
    assert response.url == reverse("client-detail", args=[new.public_id])
    assert new.organisation == clinics.organisation
    assert (new.identity.given_name, new.identity.email) == ("Marisol", "marisol@example.org")
    assert new.demographics.preferred_language == "es"
    episode = new.episodes.get()
    assert (episode.therapist, episode.status) == (clinics.owner, EpisodeStatus.ACTIVE)
    assert episode.plan == MeasurementPlan.objects.get(
        organisation=clinics.organisation, is_default=True
    )
    session = episode.sessions.get()
    expected = timezone.make_aware(datetime.datetime(2026, 12, 3, 15, 30))
    assert (session.number, session.scheduled_at) == (1, expected)
    assert episode.started_on == datetime.date(2026, 12, 3)
    assert current_consents(new) == {ConsentKind.CARE: True, ConsentKind.RESEARCH: False}
    assert "R-2041" in therapist_client.get(reverse("home")).content.decode()
    assert issue_checkin_link(episode).token  # a check-in link can be issued at once


def test_names_and_contact_details_are_stored_encrypted(therapist_client):
    therapist_client.post(reverse("client-new"), intake())
    with connection.cursor() as cursor:
        cursor.execute("SELECT given_name, family_name, email, phone FROM clinic_clientidentity")
        stored = " ".join(" ".join(row) for row in cursor.fetchall())
    for secret in ("Marisol", "Quintero", "marisol@example.org", "555"):
        assert secret not in stored


def test_intake_is_audited_without_names(therapist_client, clinics):
    therapist_client.post(reverse("client-new"), intake(consents_to_research="on"))
    new = Client.objects.get(record_number="R-2041")
    event = AuditEvent.objects.get(action="client.create")
    assert (event.actor_id, event.object_id) == (clinics.owner.pk, str(new.public_id))
    consents = AuditEvent.objects.filter(action="consent.change", object_id=str(new.public_id))
    assert consents.count() == 2
    logged = str(list(AuditEvent.objects.values_list()))
    assert "Marisol" not in logged and "marisol@example.org" not in logged


def test_without_a_first_session_the_episode_starts_today(therapist_client):
    therapist_client.post(reverse("client-new"), intake(first_session_at=""))
    episode = Client.objects.get(record_number="R-2041").episodes.get()
    assert not episode.sessions.exists()
    assert episode.started_on == timezone.localdate()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"record_number": "   "}, "This field is required"),
        ({"consents_to_care": None}, "only used with clients who agree"),
        ({"email": "not-an-address"}, "valid email"),
        ({"preferred_language": "fr"}, "valid choice"),
        ({"first_session_at": "next Tuesday"}, "valid date/time"),
    ],
)
def test_bad_intake_is_refused_with_a_clear_error(therapist_client, changes, message):
    response = therapist_client.post(reverse("client-new"), intake(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Client.objects.filter(record_number="R-2041").exists()


def test_a_record_number_in_use_in_the_clinic_is_refused(therapist_client, clinics):
    taken = clinics.owner_client.record_number
    response = therapist_client.post(reverse("client-new"), intake(record_number=taken))
    assert "already in use here" in response.content.decode()
    assert Client.objects.filter(record_number=taken).count() == 1
    assert not AuditEvent.objects.filter(action="client.create").exists()


def test_another_clinic_may_use_the_same_record_number(client, clinics):
    login_verified(client, clinics.outsider)
    taken_elsewhere = clinics.owner_client.record_number
    response = client.post(reverse("client-new"), intake(record_number=taken_elsewhere))
    assert response.status_code == 302
    assert Client.objects.filter(record_number=taken_elsewhere).count() == 2


def test_a_clinic_without_a_default_plan_says_whom_to_ask(therapist_client, clinics):
    MeasurementPlan.objects.filter(organisation=clinics.organisation).update(is_default=False)
    response = therapist_client.post(reverse("client-new"), intake())
    assert "ask a clinic admin" in response.content.decode()
    assert not Client.objects.filter(record_number="R-2041").exists()


def test_the_therapist_schedules_the_next_session(therapist_client, clinics):
    episode = clinics.owner_episode
    url = reverse("episode-schedule", args=[episode.public_id])
    response = therapist_client.post(url, {"scheduled_at": "2026-12-10T09:00"}, follow=True)
    session = episode.sessions.get(number=3)  # the fixture's episode has sessions 1 and 2
    assert session.scheduled_at == timezone.make_aware(datetime.datetime(2026, 12, 10, 9, 0))
    assert "Session 3 scheduled for 10 Dec 2026 09:00." in response.content.decode()
    event = AuditEvent.objects.get(action="session.schedule")
    assert event.object_id == str(session.public_id)


def test_a_session_without_a_date_is_not_scheduled(therapist_client, clinics):
    episode = clinics.owner_episode
    url = reverse("episode-schedule", args=[episode.public_id])
    response = therapist_client.post(url, {"scheduled_at": "soon"}, follow=True)
    assert "Not scheduled: enter the date and time" in response.content.decode()
    assert episode.sessions.count() == 2


def test_a_closed_episode_gets_no_new_session(therapist_client, clinics):
    episode = clinics.owner_episode
    episode.status, episode.ended_on, episode.end_reason = "closed", episode.started_on, "completed"
    episode.save()
    url = reverse("episode-schedule", args=[episode.public_id])
    assert therapist_client.post(url, {"scheduled_at": "2026-12-10T09:00"}).status_code == 404
    assert episode.sessions.count() == 2


def test_the_therapist_closes_an_episode_and_its_links_stop_working(
    client, therapist_client, clinics
):
    episode = clinics.owner_episode
    issued = issue_checkin_link(episode)
    url = reverse("episode-close", args=[episode.public_id])
    last_day = episode.started_on + datetime.timedelta(days=90)
    response = therapist_client.post(
        url,
        {"ended_on": last_day.isoformat(), "end_reason": "dropout", "confirm": "on"},
        follow=True,
    )
    assert "Episode closed." in response.content.decode()
    episode.refresh_from_db()
    assert (episode.status, episode.ended_on, episode.end_reason) == (
        EpisodeStatus.CLOSED,
        last_day,
        "dropout",
    )
    assert AuditEvent.objects.get(action="episode.close").detail == {"reason": "dropout"}
    assert client.get(issued.path).status_code == 410  # the link no longer opens
    caseload = therapist_client.get(reverse("home")).content.decode()
    assert clinics.owner_client.record_number not in caseload  # active episodes only


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"ended_on": "2000-01-01", "end_reason": "completed", "confirm": "on"},
            "cannot be before the episode",
        ),
        ({"ended_on": "", "end_reason": "completed", "confirm": "on"}, "enter the last day"),
        ({"ended_on": "2026-12-01", "end_reason": "bored", "confirm": "on"}, "choose a reason"),
    ],
)
def test_an_episode_is_not_closed_on_bad_input(therapist_client, clinics, data, message):
    episode = clinics.owner_episode
    url = reverse("episode-close", args=[episode.public_id])
    response = therapist_client.post(url, data, follow=True)
    assert message in response.content.decode()
    episode.refresh_from_db()
    assert episode.status == EpisodeStatus.ACTIVE


def test_marking_a_session_missed_is_saved_audited_and_closes_its_link(
    client, therapist_client, clinics
):
    episode = clinics.owner_episode
    issued = issue_checkin_link(episode)  # for a session scheduled now (the next number)
    session = issued.link.session
    url = reverse("session-status", args=[episode.public_id, session.number])
    response = therapist_client.post(url, {"status": "missed"}, follow=True)
    assert f"Session {session.number} marked missed." in response.content.decode()
    session.refresh_from_db()
    assert session.status == "missed"
    event = AuditEvent.objects.get(action="session.update")
    assert (event.object_id, event.detail) == (str(session.public_id), {"fields": ["status"]})
    assert client.get(issued.path).status_code == 410


def test_attendance_rejects_an_unknown_status_and_an_unknown_session(therapist_client, clinics):
    episode = clinics.owner_episode
    url = reverse("session-status", args=[episode.public_id, 1])
    response = therapist_client.post(url, {"status": "late"}, follow=True)
    assert "Not saved: choose attended, missed, cancelled or scheduled." in (
        response.content.decode()
    )
    assert episode.sessions.get(number=1).status == "attended"
    missing = reverse("session-status", args=[episode.public_id, 99])
    assert therapist_client.post(missing, {"status": "missed"}).status_code == 404
    assert not AuditEvent.objects.filter(action="session.update").exists()


def test_the_therapist_updates_contact_details_audited_by_field_name(therapist_client, clinics):
    therapist_client.post(reverse("client-new"), intake())
    new = Client.objects.get(record_number="R-2041")
    url = reverse("client-contact", args=[new.public_id])
    page = therapist_client.get(url)
    assert page.context["form"].initial["email"] == "marisol@example.org"
    assert AuditEvent.objects.filter(action="client.identity.read").exists()
    changes = intake(email="m.quintero@example.org", preferred_language="en")
    response = therapist_client.post(url, changes, follow=True)
    assert "Contact details saved." in response.content.decode()
    new.identity.refresh_from_db()
    new.demographics.refresh_from_db()
    assert (new.identity.email, new.demographics.preferred_language) == (
        "m.quintero@example.org",
        "en",
    )
    event = AuditEvent.objects.get(action="client.update")
    assert event.detail == {"fields": ["email", "preferred_language"]}
    assert "example.org" not in str(list(AuditEvent.objects.values_list()))


def test_contact_details_refuse_an_invalid_address(therapist_client, clinics):
    url = reverse("client-contact", args=[clinics.owner_client.public_id])
    response = therapist_client.post(url, {"email": "nope", "preferred_language": "en"})
    assert response.status_code == 200
    assert "valid email" in response.content.decode()
    assert not AuditEvent.objects.filter(action="client.update").exists()


def test_the_therapist_hands_a_client_over_to_a_colleague(client, therapist_client, clinics):
    episode = clinics.owner_episode
    issued = issue_checkin_link(episode)
    url = reverse("episode-hand-over", args=[episode.public_id])
    response = therapist_client.post(
        url, {"to": clinics.colleague.pk, "confirm": "on"}, follow=True
    )
    record = clinics.owner_client.record_number
    assert f"{record} handed over to {clinics.colleague}" in response.content.decode()
    episode.refresh_from_db()
    assert (episode.therapist, episode.status) == (clinics.colleague, EpisodeStatus.ACTIVE)
    # The former therapist no longer reaches the record, only where it went; the
    # colleague does (test_handed_over.py).
    page = reverse("client-detail", args=[clinics.owner_client.public_id])
    notice = therapist_client.get(page).content.decode()
    assert "was handed over to" in notice and 'id="hand-over"' not in notice
    login_verified(client, clinics.colleague)
    assert client.get(page).status_code == 200
    assert record in client.get(reverse("home")).content.decode()
    client.logout()
    assert client.get(issued.path).status_code == 200  # the link still opens
    handed = AuditEvent.objects.get(action="episode.hand_over")
    assert (handed.actor_id, handed.object_id) == (clinics.owner.pk, str(episode.public_id))
    moved_in = AuditEvent.objects.get(action="caseload.move_in")
    assert (moved_in.object_id, moved_in.detail) == (str(clinics.colleague.public_id), {"count": 1})


@pytest.mark.parametrize("receiver", ["owner", "outsider", "supervisor", "closed_account", ""])
def test_a_client_is_not_handed_over_to_someone_who_cannot_take_them(
    therapist_client, clinics, receiver
):
    episode = clinics.owner_episode
    if receiver == "closed_account":
        clinics.colleague.is_active = False
        clinics.colleague.save(update_fields=["is_active"])
        receiver = "colleague"
    to = getattr(clinics, receiver).pk if receiver else ""
    url = reverse("episode-hand-over", args=[episode.public_id])
    response = therapist_client.post(url, {"to": to, "confirm": "on"}, follow=True)
    assert "Not handed over: choose an active therapist of this clinic." in (
        response.content.decode()
    )
    episode.refresh_from_db()
    assert episode.therapist == clinics.owner
    assert not AuditEvent.objects.filter(action="episode.hand_over").exists()


def test_the_client_page_offers_the_clinics_other_active_therapists(therapist_client, clinics):
    page = therapist_client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    hand_over = page.content.decode().split('id="hand-over"')[1].split("</form>")[0]
    assert f'value="{clinics.colleague.pk}"' in hand_over
    for other in (clinics.owner, clinics.supervisor, clinics.outsider):
        assert f'value="{other.pk}"' not in hand_over


def _close(episode, reason="completed"):
    episode.status, episode.ended_on, episode.end_reason = (
        EpisodeStatus.CLOSED,
        episode.started_on + datetime.timedelta(days=60),
        reason,
    )
    episode.save()


def test_closed_episodes_are_listed_for_their_therapist_and_supervisor_only(
    client, therapist_client, clinics
):
    _close(clinics.owner_episode, reason="referred")
    record = clinics.owner_client.record_number
    listed = therapist_client.get(reverse("closed-episodes")).content.decode()
    assert record in listed and "Referred elsewhere" in listed
    assert AuditEvent.objects.get(action="caseload.read_closed").detail == {"count": 1}
    for viewer, sees in ((clinics.supervisor, True), (clinics.colleague, False)):
        login_verified(client, viewer)
        assert (record in client.get(reverse("closed-episodes")).content.decode()) is sees


def test_the_therapist_reopens_a_closed_episode(therapist_client, clinics):
    episode = clinics.owner_episode
    _close(episode)
    page = reverse("client-detail", args=[clinics.owner_client.public_id])
    assert "Reopen this episode" in therapist_client.get(page).content.decode()
    response = therapist_client.post(reverse("episode-reopen", args=[episode.public_id]))
    assert response.url == page
    episode.refresh_from_db()
    assert (episode.status, episode.ended_on, episode.end_reason) == (
        EpisodeStatus.ACTIVE,
        None,
        "",
    )
    assert AuditEvent.objects.get(action="episode.reopen").detail == {"reason": "completed"}
    caseload = therapist_client.get(reverse("home")).content.decode()
    assert clinics.owner_client.record_number in caseload


def test_an_episode_is_not_reopened_beside_another_active_one(therapist_client, clinics):
    closed = clinics.owner_episode
    _close(closed)
    active = Episode.objects.create(
        client=clinics.owner_client,
        therapist=clinics.owner,
        plan=closed.plan,
        started_on=closed.ended_on + datetime.timedelta(days=30),
    )
    response = therapist_client.post(
        reverse("episode-reopen", args=[closed.public_id]), follow=True
    )
    assert "Not reopened: This client already has an active episode." in (response.content.decode())
    closed.refresh_from_db()
    active.refresh_from_db()
    assert (closed.status, active.status) == (EpisodeStatus.CLOSED, EpisodeStatus.ACTIVE)
    assert not AuditEvent.objects.filter(action="episode.reopen").exists()


def test_only_the_treating_therapist_reopens(client, clinics):
    _close(clinics.owner_episode)
    url = reverse("episode-reopen", args=[clinics.owner_episode.public_id])
    login_verified(client, clinics.supervisor)
    assert client.post(url).status_code == 403
    login_verified(client, clinics.colleague)
    assert client.post(url).status_code == 404
    clinics.owner_episode.refresh_from_db()
    assert clinics.owner_episode.status == EpisodeStatus.CLOSED


@pytest.mark.django_db(transaction=True)
def test_two_closed_episodes_of_a_client_reopened_at_once_leave_one_active(clinics):
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is one shared in-memory connection; threads test PG")
    first = clinics.owner_episode
    _close(first)
    second = Episode.objects.create(
        client=clinics.owner_client,
        therapist=clinics.owner,
        plan=first.plan,
        started_on=first.ended_on + datetime.timedelta(days=30),
    )
    _close(second)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def reopen(episode) -> None:
        try:
            barrier.wait()
            actions.reopen_episode(None, episode)
            outcomes.append("reopened")
        except actions.EpisodeStatusError as error:
            outcomes.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=reopen, args=[e]) for e in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["This client already has an active episode.", "reopened"]
    assert clinics.owner_client.episodes.filter(status=EpisodeStatus.ACTIVE).count() == 1


OUT_OF_RANGE_MOMENTS = ["0001-01-01T00:00", "9999-12-31T23:59"]
RANGE_MESSAGE = "between 1900-01-01 and 2100-12-31"


@pytest.mark.parametrize("moment", OUT_OF_RANGE_MOMENTS)
def test_intake_refuses_a_first_session_out_of_range(therapist_client, moment):
    response = therapist_client.post(reverse("client-new"), intake(first_session_at=moment))
    assert response.status_code == 200
    assert RANGE_MESSAGE in response.content.decode()
    assert not Client.objects.filter(record_number="R-2041").exists()


# Year 1 in a zone east of UTC, and year 9999 west of it, were 500s (OverflowError).
@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland", "America/New_York"])
@pytest.mark.parametrize("moment", OUT_OF_RANGE_MOMENTS)
def test_a_session_out_of_range_is_not_scheduled_and_the_client_page_still_opens(
    therapist_client, clinics, moment, zone, settings
):
    settings.TIME_ZONE = zone
    episode = clinics.owner_episode
    url = reverse("episode-schedule", args=[episode.public_id])
    response = therapist_client.post(url, {"scheduled_at": moment}, follow=True)
    assert response.status_code == 200
    assert RANGE_MESSAGE in response.content.decode()
    assert episode.sessions.count() == 2
    page = therapist_client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert page.status_code == 200


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_an_episode_is_not_closed_on_a_day_out_of_range(therapist_client, clinics, day):
    episode = clinics.owner_episode
    url = reverse("episode-close", args=[episode.public_id])
    response = therapist_client.post(url, {"ended_on": day, "end_reason": "completed"}, follow=True)
    assert response.status_code == 200
    assert RANGE_MESSAGE in response.content.decode()
    episode.refresh_from_db()
    assert episode.status == EpisodeStatus.ACTIVE
