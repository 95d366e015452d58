import pytest
from django.urls import reverse

from rapport.testing import (
    PASSWORD,
    add_score,
    add_session,
    make_episode,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic():
    organisation = make_organisation()
    supervisor = make_user(organisation, "supervisor")
    therapist = make_user(organisation, supervisor=supervisor)
    colleague = make_user(organisation)
    mine = make_episode(therapist, record_number="R-MINE")
    session = add_session(mine, 1)
    add_score(session, "rapport_trust", 6.125)
    add_score(session, "phq9", 14, construct="outcome")
    make_episode(colleague, record_number="R-COLLEAGUE")
    outsider_org = make_organisation()
    make_episode(make_user(outsider_org), record_number="R-OUTSIDE")
    return {"therapist": therapist, "colleague": colleague, "supervisor": supervisor}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_therapist_sees_own_clients_with_latest_scores(client, clinic):
    login(client, clinic["therapist"])
    page = client.get(reverse("home")).content.decode()
    assert "R-MINE" in page
    assert "6.1" in page  # trust 6.125 shown to one decimal
    assert ">14<" in page
    assert "R-COLLEAGUE" not in page
    assert "R-OUTSIDE" not in page


def test_supervisor_sees_the_team_they_supervise_only(client, clinic):
    login(client, clinic["supervisor"])
    page = client.get(reverse("home")).content.decode()
    assert "R-MINE" in page
    assert "R-COLLEAGUE" not in page
    assert "R-OUTSIDE" not in page


@pytest.mark.parametrize("role", ["clinic_admin", "researcher"])
def test_admins_and_researchers_see_no_identified_caseload(client, clinic, role):
    user = make_user(clinic["therapist"].organisation, role)
    login(client, user)
    page = client.get(reverse("home")).content.decode()
    assert "R-MINE" not in page
    assert "does not see individual clients" in page


def test_caseload_query_count_does_not_grow_with_the_caseload(client, clinic):
    therapist = clinic["therapist"]
    login(client, therapist)
    client.get(reverse("home"))  # warm the session and user caches

    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("home")).status_code == 200
        return len(captured)

    small = count_queries()
    for _ in range(15):
        episode = make_episode(therapist)
        for number in range(1, 4):
            add_score(add_session(episode, number), "rapport_trust", 5.0)
    assert count_queries() == small
