"""Cross-cutting behaviour: one audit entry per request, error shape, paging, rate limits."""

from __future__ import annotations

import datetime

import pytest
from django.test import override_settings

from rapport.api.models import ApiToken
from rapport.api.ratelimit import RateLimited, count_request
from rapport.security.models import AuditEvent
from rapport.testing import api_token, bearer, make_episode

pytestmark = pytest.mark.django_db


def test_one_audit_entry_per_request_not_per_row(client, clinics):
    for _ in range(5):
        make_episode(clinics.owner, sessions=1)
    raw = api_token(clinics.owner)
    before = AuditEvent.objects.count()
    response = client.get("/api/v1/episodes", headers=bearer(raw))
    assert response.json()["total"] == 6
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert len(events) == 1
    assert events[0].action == "api.read"
    assert events[0].actor_id == clinics.owner.pk
    assert events[0].detail == {"method": "GET", "path": "episodes", "status_code": 200, "count": 6}


def test_denials_are_audited_once(client, clinics):
    raw = api_token(clinics.researcher)
    before = AuditEvent.objects.count()
    client.get("/api/v1/sessions", headers=bearer(raw))
    client.get("/api/v1/sessions")
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert [(e.outcome, e.detail["status_code"]) for e in events] == [
        ("denied", 403),
        ("denied", 401),
    ]


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=501", "offset=-1", "status=bogus", "started_from=2026-02-30", "client=x"],
)
def test_invalid_parameters_are_422_with_details(client, clinics, query):
    raw = api_token(clinics.owner)
    response = client.get(f"/api/v1/episodes?{query}", headers=bearer(raw))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["details"] and "loc" in error["details"][0]


def test_invalid_path_id_is_422(client, clinics):
    raw = api_token(clinics.owner)
    response = client.get("/api/v1/episodes/not-a-uuid", headers=bearer(raw))
    assert response.status_code == 422


def test_pagination_reports_the_total(client, clinics):
    for _ in range(4):
        make_episode(clinics.owner)
    raw = api_token(clinics.owner)
    page = client.get("/api/v1/episodes?limit=2&offset=2", headers=bearer(raw)).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (5, 2, 2, 2)
    everything = client.get("/api/v1/episodes?limit=500", headers=bearer(raw)).json()["items"]
    first = client.get("/api/v1/episodes?limit=2", headers=bearer(raw)).json()["items"]
    assert [e["id"] for e in first + page["items"]] == [e["id"] for e in everything[:4]]


@override_settings(API_RATE_LIMIT=3)
@pytest.mark.usefixtures("one_rate_limit_window")
def test_rate_limit_returns_429_with_retry_after(client, clinics):
    raw = api_token(clinics.owner)
    statuses = [client.get("/api/v1/plans", headers=bearer(raw)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/plans", headers=bearer(raw))
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


@override_settings(API_RATE_LIMIT=3)
def test_rate_limit_is_per_token_and_per_window(client, clinics):
    api_token(clinics.owner)
    token = ApiToken.objects.get()
    now = datetime.datetime(2026, 3, 1, 10, 0, 30, tzinfo=datetime.UTC)
    for _ in range(3):
        count_request(token, now=now)
    with pytest.raises(RateLimited) as raised:
        count_request(token, now=now)
    assert raised.value.retry_after == 30
    count_request(token, now=now + datetime.timedelta(minutes=1))  # a new window
    other = api_token(clinics.colleague)
    assert client.get("/api/v1/plans", headers=bearer(other)).status_code == 200


def test_api_responses_are_not_cached(client, clinics):
    raw = api_token(clinics.owner)
    response = client.get("/api/v1/clients", headers=bearer(raw))
    assert "no-store" in response["Cache-Control"]


def test_openapi_document_is_served_without_a_token(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/clients" in document["paths"]


def test_no_docs_page_loading_third_party_assets(client, db):
    assert client.get("/api/v1/docs").status_code == 404


@override_settings(API_ANONYMOUS_RATE_LIMIT=5)
@pytest.mark.usefixtures("one_rate_limit_window")
def test_requests_without_a_valid_token_are_limited_per_address(client, clinics):
    statuses = [
        client.get("/api/v1/clients", REMOTE_ADDR="203.0.113.66").status_code for _ in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    other_address = client.get("/api/v1/clients", REMOTE_ADDR="198.51.100.7")
    assert other_address.status_code == 401


@override_settings(API_ANONYMOUS_RATE_LIMIT=5)
@pytest.mark.usefixtures("one_rate_limit_window")
def test_repeated_refusals_write_one_audit_entry_per_address_and_window(client, clinics):
    before = AuditEvent.objects.count()
    for _ in range(50):
        client.get("/api/v1/clients", headers={"Authorization": "Bearer rpt_nope"})
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert len(events) == 1
    assert events[0].detail["status_code"] == 401


def test_the_next_window_reports_how_many_refusals_the_previous_one_had(client, clinics):
    from unittest import mock

    from rapport.security import ratelimit

    start = 1_800_000_000.0
    before = AuditEvent.objects.count()
    with mock.patch.object(ratelimit.time, "time", return_value=start):
        for _ in range(30):
            client.get("/api/v1/clients")
    with mock.patch.object(ratelimit.time, "time", return_value=start + 60):
        client.get("/api/v1/clients")
    events = list(AuditEvent.objects.order_by("seq")[before:])
    assert len(events) == 2
    assert events[1].detail["refusals_in_previous_window"] == 30


@pytest.mark.parametrize(
    "query",
    [
        "clients?created_from=0001-01-01",
        "episodes?started_to=9999-12-31",
        "sessions?scheduled_from=0001-01-01",
        "administrations?completed_to=9999-12-31",
        "alerts?raised_from=0001-01-01",
    ],
)
def test_date_filters_out_of_range_are_422_naming_the_range(client, clinics, query):
    raw = api_token(clinics.owner)
    response = client.get(f"/api/v1/{query}", headers=bearer(raw))
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert query.split("?")[1].split("=")[0] in detail["loc"]
    assert "between 1900-01-01 and 2100-12-31" in detail["message"]
