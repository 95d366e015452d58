"""POST /clients/{id}/checkin-links (scope write) and GET /alerts."""

from __future__ import annotations

import pytest

from rapport.checkin.links import find_open_link
from rapport.checkin.models import Alert, AlertKind, CheckinLink
from rapport.clinic.models import EpisodeStatus
from rapport.testing import api_token, bearer, schedule_next_session

pytestmark = pytest.mark.django_db


def url(client) -> str:
    return f"/api/v1/clients/{client.public_id}/checkin-links"


def test_write_scope_creates_a_link_shown_once(client, clinics):
    schedule_next_session(clinics.owner_episode)
    raw = api_token(clinics.owner, ("read", "write"))
    response = client.post(url(clinics.owner_client), headers=bearer(raw))
    assert response.status_code == 201, response.content
    body = response.json()
    token = body["url"].rstrip("/").rsplit("/", 1)[-1]
    link = find_open_link(token)
    assert link is not None and str(link.public_id) == body["id"]
    assert token not in str(CheckinLink.objects.values_list("token_hash", flat=True)[0])


def test_read_scope_cannot_create_links(client, clinics):
    raw = api_token(clinics.owner, ("read",))
    assert client.post(url(clinics.owner_client), headers=bearer(raw)).status_code == 403
    assert CheckinLink.objects.count() == 0


def test_other_caseloads_do_not_exist(client, clinics):
    raw = api_token(clinics.colleague, ("read", "write"))
    assert client.post(url(clinics.owner_client), headers=bearer(raw)).status_code == 404


def test_no_active_episode_is_409(client, clinics):
    episode = clinics.owner_episode
    episode.status, episode.ended_on, episode.end_reason = (
        EpisodeStatus.CLOSED,
        "2026-03-01",
        "other",
    )
    episode.save()
    raw = api_token(clinics.owner, ("read", "write"))
    response = client.post(url(clinics.owner_client), headers=bearer(raw))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"


def test_alerts_in_scope_without_free_text(client, clinics):
    Alert.objects.create(
        organisation=clinics.organisation,
        client=clinics.owner_client,
        episode=clinics.owner_episode,
        kind=AlertKind.CRITICAL_ITEM,
        code="critical:phq9_9",
        acknowledgement_note="spoke to client",
    )
    owner = client.get("/api/v1/alerts?open=true", headers=bearer(api_token(clinics.owner)))
    assert owner.json()["total"] == 1
    assert "spoke" not in owner.content.decode()
    assert owner.json()["items"][0]["code"] == "critical:phq9_9"
    colleague = client.get("/api/v1/alerts", headers=bearer(api_token(clinics.colleague)))
    assert colleague.json()["total"] == 0
    closed = client.get("/api/v1/alerts?open=false", headers=bearer(api_token(clinics.owner)))
    assert closed.json()["total"] == 0
