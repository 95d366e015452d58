"""Staff reach a client's check-ins only through the episodes they treat or supervise.

A client who comes back to the clinic and starts a new episode with another therapist
(or whose episode was handed over) stays visible to the former therapist through the
old, closed episode. That must not open the new episode to them: no links, no kiosk, no
drafts (a link shows the link's draft), no alerts (issue #15, point 5).
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from rapport.checkin.models import Alert, AlertKind, CheckinLink
from rapport.clinic.models import Episode, EpisodeStatus
from rapport.testing import (
    api_token,
    bearer,
    issue_checkin_link,
    login_verified,
    schedule_next_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def new_episode(clinics) -> Episode:
    """The owner's episode closed; the client now sees the colleague."""
    old = clinics.owner_episode
    old.status, old.ended_on, old.end_reason = (
        EpisodeStatus.CLOSED,
        datetime.date(2026, 2, 1),
        "other",
    )
    old.save()
    return Episode.objects.create(
        client=clinics.owner_client,
        therapist=clinics.colleague,
        plan=old.plan,
        started_on=datetime.date(2026, 3, 1),
    )


@pytest.mark.parametrize("url_name", ["checkin-link-create", "checkin-kiosk-start"])
def test_former_therapist_cannot_issue_links_for_the_new_episode(
    client, clinics, new_episode, url_name
):
    login_verified(client, clinics.owner)
    # The client page still opens: the old episode is the owner's.
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert page.status_code == 200
    response = client.post(reverse(url_name, args=[clinics.owner_client.public_id]))
    assert response.status_code == 404
    assert not CheckinLink.objects.exists()


def test_the_new_therapist_issues_links_for_their_episode(client, clinics, new_episode):
    schedule_next_session(new_episode)
    login_verified(client, clinics.colleague)
    response = client.post(reverse("checkin-link-create", args=[clinics.owner_client.public_id]))
    assert response.status_code == 200
    assert CheckinLink.objects.get().session.episode == new_episode


def test_former_therapist_cannot_issue_links_through_the_api(client, clinics, new_episode):
    raw = api_token(clinics.owner, ("read", "write"))
    url = f"/api/v1/clients/{clinics.owner_client.public_id}/checkin-links"
    response = client.post(url, headers=bearer(raw))
    assert response.status_code == 409  # as for a client with no active episode at all
    assert not CheckinLink.objects.exists()


def test_former_therapist_does_not_see_the_new_episodes_links(client, clinics, new_episode):
    issued = issue_checkin_link(new_episode)
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert reverse("checkin-link-revoke", args=[issued.link.public_id]) not in page.content.decode()
    login_verified(client, clinics.colleague)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert reverse("checkin-link-revoke", args=[issued.link.public_id]) in page.content.decode()


def test_former_therapist_does_not_get_the_new_episodes_alerts(client, clinics, new_episode):
    Alert.objects.create(
        organisation=clinics.organisation,
        client=clinics.owner_client,
        episode=new_episode,
        kind=AlertKind.CRITICAL_ITEM,
        code="critical:phq9_9",
    )
    former = client.get("/api/v1/alerts", headers=bearer(api_token(clinics.owner)))
    assert former.json()["total"] == 0
    current = client.get("/api/v1/alerts", headers=bearer(api_token(clinics.colleague)))
    assert current.json()["total"] == 1
    login_verified(client, clinics.owner)
    assert b"critical" not in client.get(reverse("worklist")).content.lower()
