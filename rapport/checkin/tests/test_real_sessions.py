"""A check-in attaches to a real session, and its link lasts until that session ends.

Issue #17: starting a kiosk check-in, creating a link (page, API) or running ``rapport
checkin create`` for a client with no upcoming session used to schedule a session dated
now. Nothing is invented any more: the check-in is for the next scheduled session, or
staff schedule one first. A link also never closes before its session has ended.
"""

from __future__ import annotations

import datetime

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.links import SESSION_LENGTH, NoDueSessionError, due_session, issue_link
from rapport.checkin.models import Channel, CheckinLink
from rapport.clinic.models import Session
from rapport.testing import api_token, bearer, login_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_upcoming_session(clinics):
    """The owner's client has only the two attended sessions of January."""
    clinics.owner_episode.sessions.filter(number__gt=2).delete()
    return clinics.owner_episode.sessions.count()


@pytest.mark.parametrize("url_name", ["checkin-link-create", "checkin-kiosk-start"])
def test_staff_are_asked_to_schedule_the_session_first(
    client, clinics, no_upcoming_session, url_name
):
    login_verified(client, clinics.owner)
    response = client.post(reverse(url_name, args=[clinics.owner_client.public_id]))
    assert response.status_code == 302
    assert response.url == reverse("client-detail", args=[clinics.owner_client.public_id])
    assert "schedule the session" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert clinics.owner_episode.sessions.count() == no_upcoming_session
    assert not CheckinLink.objects.exists()
    # Staff are still signed in: starting the kiosk failed before handing the tablet over.
    assert client.get(reverse("home")).status_code == 200


def test_the_api_answers_409_and_invents_nothing(client, clinics, no_upcoming_session):
    raw = api_token(clinics.owner, ("read", "write"))
    url = f"/api/v1/clients/{clinics.owner_client.public_id}/checkin-links"
    response = client.post(url, headers=bearer(raw))
    assert response.status_code == 409
    assert "schedule" in response.json()["error"]["message"]
    assert clinics.owner_episode.sessions.count() == no_upcoming_session


def test_the_command_fails_clearly_and_invents_nothing(clinics, no_upcoming_session):
    with pytest.raises(CommandError, match="schedule the session"):
        call_command(
            "checkin",
            "create",
            clinics.owner_client.record_number,
            "--org",
            clinics.organisation.slug,
        )
    assert clinics.owner_episode.sessions.count() == no_upcoming_session


def test_the_next_scheduled_session_is_used(clinics, no_upcoming_session):
    when = timezone.now() + datetime.timedelta(days=3)
    scheduled = Session.objects.create(episode=clinics.owner_episode, number=3, scheduled_at=when)
    assert due_session(clinics.owner_episode) == scheduled
    with pytest.raises(NoDueSessionError):
        scheduled.delete()
        due_session(clinics.owner_episode)


@pytest.mark.parametrize("channel", [Channel.PRINT, Channel.EMAIL, Channel.CLI])
def test_a_link_never_closes_before_its_session_ends(clinics, channel):
    when = timezone.now() + datetime.timedelta(days=10)
    session = Session.objects.create(episode=clinics.owner_episode, number=3, scheduled_at=when)
    issued = issue_link(session, channel=channel)
    assert issued.link.expires_at >= when + SESSION_LENGTH


def test_a_soon_session_keeps_the_usual_link_lifetime(clinics, settings):
    session = Session.objects.create(
        episode=clinics.owner_episode, number=3, scheduled_at=timezone.now()
    )
    before = timezone.now()
    issued = issue_link(session, channel=Channel.PRINT)
    lifetime = datetime.timedelta(hours=settings.CHECKIN_LINK_HOURS)
    assert before + lifetime <= issued.link.expires_at <= timezone.now() + lifetime
