import pytest
from django.urls import reverse

from rapport.testing import (
    add_score,
    add_session,
    login_verified,
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
    login_verified(client, user)


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
    response = client.get(reverse("home"), follow=True)
    # Sent on to their own start page (Staff, Insights), which names no client.
    landing = {"clinic_admin": "staff-list", "researcher": "insights"}[role]
    assert response.redirect_chain[-1][0] == reverse(landing)
    assert "R-MINE" not in response.content.decode()


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


def test_password_only_session_is_sent_to_the_mfa_step(client, clinic):
    client.force_login(clinic["therapist"])
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa-verify"))


def test_record_numbers_link_to_the_client_record(client, clinic):
    login(client, clinic["therapist"])
    page = client.get(reverse("home")).content.decode()
    mine = clinic["therapist"].episodes.get().client
    assert reverse("client-detail", args=[mine.public_id]) in page


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("record", ["R-A", "R-B", "R-C"]),
        ("-trust", ["R-B", "R-A", "R-C"]),
        ("trust", ["R-A", "R-B", "R-C"]),
    ],
)
def test_caseload_sorts_by_allow_listed_columns_with_unscored_last(client, sort, expected):
    therapist = make_user(make_organisation())
    for record_number, trust in [("R-C", None), ("R-A", 3.0), ("R-B", 6.0)]:
        session = add_session(make_episode(therapist, record_number=record_number), 1)
        if trust is not None:
            add_score(session, "rapport_trust", trust)
    login(client, therapist)
    page = client.get(reverse("home"), {"sort": sort}).content.decode()
    assert [page.index(number) for number in expected] == sorted(
        page.index(number) for number in expected
    )


@pytest.mark.parametrize(
    "sort", ["client__record_number", "-", "1,extractvalue(1,1)", "trust;drop", "password"]
)
def test_unknown_sort_values_are_a_bad_request(client, clinic, sort):
    login(client, clinic["therapist"])
    assert client.get(reverse("home"), {"sort": sort}).status_code == 400
