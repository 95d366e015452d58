import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.clinic.models import AdministrationStatus
from rapport.security.models import AuditEvent
from rapport.testing import add_score, add_session, login_verified, make_episode, make_two_clinics

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinics():
    return make_two_clinics()


def detail_url(client_record):
    return reverse("client-detail", args=[client_record.public_id])


@pytest.mark.parametrize(
    ("total", "shown"), [(6.25, "6.3"), (0.15, "0.2"), (6.24, "6.2"), (6.0, "6")]
)
def test_a_score_reads_the_same_in_latest_scores_and_the_timeline(client, clinics, total, shown):
    # Rounded once, half up, by one function: the table once read 6.3 where every other
    # place said 6.2 for a mean of 6.25.
    session = clinics.owner_episode.sessions.get(number=2)
    add_score(session, "rapport_trust", total)
    for language in ("en", "es"):
        clinics.owner.language = language
        clinics.owner.save(update_fields=["language"])
        login_verified(client, clinics.owner)
        page = client.get(detail_url(clinics.owner_client)).content.decode()
        latest = page[page.index('<td class="num">') :]
        assert latest.startswith(f'<td class="num">{shown}</td>'), language
        assert f"{shown} at session 2" in page or f"{shown} en la sesión 2" in page, language


def test_owner_sees_record_number_episodes_sessions_and_latest_scores(client, clinics):
    episode = clinics.owner_episode
    add_score(episode.sessions.get(number=2), "rapport_trust", 6.4)
    add_score(episode.sessions.get(number=2), "phq9", 9, construct="outcome")
    pending = add_score(episode.sessions.get(number=1), "gad7", 3, construct="outcome")
    pending.status, pending.completed_at = AdministrationStatus.PENDING, None
    pending.save()
    login_verified(client, clinics.owner)
    page = client.get(detail_url(clinics.owner_client)).content.decode()
    assert clinics.owner_client.record_number in page
    assert "Episode from 5 Jan 2026" in page
    latest = page[page.index("<h3>Latest scores</h3>") : page.index("<h3>Timelines</h3>")]
    assert '<td class="num">6.4</td>' in latest  # latest trust (session 2), not session 1's
    assert '<td class="num">5.5</td>' not in latest
    assert "PHQ-9" in latest
    assert "GAD-7" not in latest  # pending, not completed
    assert "GAD-7 (pending)" in page  # but listed in the session's check-in history
    assert page.count('<tr><td class="num">') == 2  # two sessions


def test_supervisor_sees_their_supervisees_client(client, clinics):
    login_verified(client, clinics.supervisor)
    response = client.get(detail_url(clinics.owner_client))
    assert response.status_code == 200
    assert str(clinics.owner) in response.content.decode()


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_other_therapists_get_404(client, clinics, persona):
    login_verified(client, clinics.staff[persona])
    assert client.get(detail_url(clinics.owner_client)).status_code == 404


@pytest.mark.parametrize("persona", ["clinic_admin", "researcher"])
def test_roles_without_clinical_access_get_403(client, clinics, persona):
    login_verified(client, clinics.staff[persona])
    assert client.get(detail_url(clinics.owner_client)).status_code == 403
    assert client.get(reverse("client-detail", args=[uuid.uuid4()])).status_code == 403


def test_unknown_id_is_404(client, clinics):
    login_verified(client, clinics.owner)
    assert client.get(reverse("client-detail", args=[uuid.uuid4()])).status_code == 404


def test_post_is_not_allowed(client, clinics):
    login_verified(client, clinics.owner)
    assert client.post(detail_url(clinics.owner_client)).status_code == 405


def test_colleagues_episode_with_the_same_client_is_not_shown(client, clinics):
    # The client moved from the colleague to the owner: the owner sees only their episode.
    from rapport.clinic.models import Episode

    Episode.objects.create(
        client=clinics.owner_client,
        therapist=clinics.colleague,
        plan=clinics.owner_episode.plan,
        started_on=clinics.owner_episode.started_on.replace(year=2025),
        ended_on=clinics.owner_episode.started_on.replace(year=2025, month=6),
        status="closed",
        end_reason="referred",
    )
    login_verified(client, clinics.owner)
    page = client.get(detail_url(clinics.owner_client)).content.decode()
    assert "2025" not in page
    login_verified(client, clinics.colleague)
    page = client.get(detail_url(clinics.owner_client)).content.decode()
    assert "Episode from" in page and "2025" in page and "5 Jan 2026" not in page


def test_each_view_writes_exactly_one_read_event(client, clinics):
    login_verified(client, clinics.owner)
    client.get(detail_url(clinics.owner_client))
    events = AuditEvent.objects.filter(action="client.read")
    assert events.count() == 1
    event = events.get()
    assert event.object_id == str(clinics.owner_client.public_id)
    assert event.actor_id == clinics.owner.pk
    assert event.actor_role == "therapist"
    assert clinics.owner_client.record_number not in str(event.detail)


def test_denied_reads_write_no_read_event(client, clinics):
    login_verified(client, clinics.colleague)
    client.get(detail_url(clinics.owner_client))
    assert not AuditEvent.objects.filter(action="client.read").exists()


def test_query_count_does_not_grow_with_sessions(client, clinics):
    login_verified(client, clinics.owner)
    client.get(detail_url(clinics.owner_client))

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(detail_url(clinics.owner_client)).status_code == 200
        return len(captured)

    before = count()
    for number in range(3, 12):
        add_score(add_session(clinics.owner_episode, number), "rapport_trust", 4.0)
    make_episode(clinics.owner)
    assert count() == before


def test_a_single_score_is_not_compared_with_a_session_it_does_not_have(client, clinics):
    # PHQ-9 first answered at session 2: nothing to compare it with, and never "since
    # session 1", when the client had no PHQ-9 score then.
    add_score(clinics.owner_episode.sessions.get(number=2), "phq9", 12, construct="outcome")
    login_verified(client, clinics.owner)

    page = client.get(detail_url(clinics.owner_client)).content.decode()

    latest = page[page.index("<h3>Latest scores</h3>") : page.index("<h3>Timelines</h3>")]
    phq9 = latest[latest.index("PHQ-9") :].split("</tr>", 1)[0]
    assert "within measurement error" not in phq9 and phq9.endswith("<td>—</td>")
    assert "since session 1" not in page
    assert "PHQ-9 scores (0\u201327, lower is better) one score so far: 12 at session 2;" in page


def test_change_is_judged_from_the_first_score_whichever_session_it_was(client, clinics):
    for number, total in ((2, 18), (3, 10)):
        session = add_session(clinics.owner_episode, number) if number == 3 else None
        session = session or clinics.owner_episode.sessions.get(number=number)
        add_score(session, "phq9", total, construct="outcome")
    login_verified(client, clinics.owner)

    page = client.get(detail_url(clinics.owner_client)).content.decode()

    assert "the change since the first score is a reliable improvement" in page
    assert "since session 1" not in page
