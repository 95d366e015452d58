"""Episodes, sessions, plans and administrations: scope, filters and the trust audience."""

from __future__ import annotations

import pytest

from rapport.clinic.models import EpisodeStatus, TrustAnswersAudience
from rapport.instruments import load_registry
from rapport.testing import add_answers, add_score, api_token, bearer, make_episode

pytestmark = pytest.mark.django_db


def get(client, raw, url):
    response = client.get(url, headers=bearer(raw))
    assert response.status_code == 200, response.content
    return response.json()


def test_episode_list_filters_by_status_and_client(client, clinics):
    closed = make_episode(clinics.owner)
    closed.status, closed.ended_on, closed.end_reason = EpisodeStatus.CLOSED, "2026-03-01", "other"
    closed.save()
    raw = api_token(clinics.owner)
    assert get(client, raw, "/api/v1/episodes")["total"] == 2
    closed_page = get(client, raw, "/api/v1/episodes?status=closed")
    assert [e["id"] for e in closed_page["items"]] == [str(closed.public_id)]
    assert closed_page["items"][0]["end_reason"] == "other"
    by_client = get(client, raw, f"/api/v1/episodes?client={clinics.owner_client.public_id}")
    assert by_client["total"] == 1
    assert get(client, raw, "/api/v1/episodes?started_from=2026-01-06")["total"] == 0


def test_supervisor_sees_the_supervisees_episode(client, clinics):
    raw = api_token(clinics.supervisor)
    url = f"/api/v1/episodes/{clinics.owner_episode.public_id}"
    assert get(client, raw, url)["therapist"] == str(clinics.owner.public_id)


def test_sessions_in_scope_with_date_filter(client, clinics):
    raw = api_token(clinics.owner)
    page = get(client, raw, f"/api/v1/sessions?episode={clinics.owner_episode.public_id}")
    assert [s["number"] for s in page["items"]] == [1, 2]
    assert get(client, raw, "/api/v1/sessions?scheduled_from=2026-01-13")["total"] == 1
    session = clinics.owner_episode.sessions.get(number=1)
    assert get(client, raw, f"/api/v1/sessions/{session.public_id}")["number"] == 1
    outsider = api_token(clinics.outsider)
    response = client.get(f"/api/v1/sessions/{session.public_id}", headers=bearer(outsider))
    assert response.status_code == 404


def test_administrations_with_scores(client, clinics):
    session = clinics.owner_episode.sessions.get(number=2)
    add_score(session, "phq9", 12, construct="outcome")
    raw = api_token(clinics.owner)
    page = get(client, raw, "/api/v1/administrations?instrument=phq9")
    assert page["total"] == 1
    item = page["items"][0]
    assert (item["total"], item["measures"], item["session_number"]) == (12, "outcome", 2)
    assert item["client"] == str(clinics.owner_client.public_id)
    assert get(client, raw, f"/api/v1/administrations/{item['id']}")["id"] == item["id"]
    assert get(client, raw, "/api/v1/administrations?completed_to=2026-01-01")["total"] == 0


def test_a_prorated_total_is_marked_as_estimated(client, clinics):
    phq9 = load_registry()["phq9"]
    complete = dict.fromkeys(phq9.scored_item_ids, 1)
    add_answers(clinics.owner_episode.sessions.get(number=1), phq9, complete)
    add_answers(clinics.owner_episode.sessions.get(number=2), phq9, complete | {"phq9_3": None})
    raw = api_token(clinics.owner)

    items = get(client, raw, "/api/v1/administrations?instrument=phq9")["items"]

    by_session = {item["session_number"]: item for item in items}
    assert (by_session[1]["total"], by_session[1]["total_estimated"]) == (9, False)
    assert (by_session[2]["total"], by_session[2]["total_estimated"]) == (9, True)
    assert by_session[2]["missing"] == ["phq9_3"]


def test_an_unanswered_risk_item_is_a_flag_in_the_api(client, clinics):
    phq9 = load_registry()["phq9"]
    session = clinics.owner_episode.sessions.get(number=1)
    add_answers(session, phq9, dict.fromkeys(phq9.scored_item_ids[:8], 0))
    raw = api_token(clinics.owner)

    (item,) = get(client, raw, "/api/v1/administrations?instrument=phq9")["items"]

    assert item["flags"] == ["unanswered:phq9_9"]


@pytest.mark.parametrize("instrument", ["phq9%00", "PHQ9", "phq9;drop", "x" * 65])
def test_a_malformed_instrument_filter_is_a_validation_error_not_a_crash(
    client, clinics, instrument
):
    # Found by schemathesis: a NUL byte reached PostgreSQL and answered 500.
    raw = api_token(clinics.owner)
    response = client.get(f"/api/v1/administrations?instrument={instrument}", headers=bearer(raw))
    assert response.status_code == 422
    assert response.json()["error"]["code"]


def test_trust_answers_for_supervisors_only_are_hidden_from_the_therapist(client, clinics):
    organisation = clinics.organisation
    organisation.trust_answers_audience = TrustAnswersAudience.SUPERVISORS
    organisation.save()
    owner, supervisor = api_token(clinics.owner), api_token(clinics.supervisor)
    assert get(client, owner, "/api/v1/administrations?instrument=rapport_trust")["total"] == 0
    assert get(client, supervisor, "/api/v1/administrations?instrument=rapport_trust")["total"] == 1


def test_plans_of_the_own_organisation_for_every_role(client, clinics):
    for user in (clinics.owner, clinics.clinic_admin, clinics.researcher):
        plans = get(client, api_token(user), "/api/v1/plans")
        assert plans["total"] == 1
        assert [e["instrument_id"] for e in plans["items"][0]["entries"]][:2] == [
            "rapport_trust",
            "rapport_alliance",
        ]
    outsider_plans = get(client, api_token(clinics.outsider), "/api/v1/plans")["items"]
    assert (
        outsider_plans[0]["id"]
        != get(client, api_token(clinics.owner), "/api/v1/plans")["items"][0]["id"]
    )
