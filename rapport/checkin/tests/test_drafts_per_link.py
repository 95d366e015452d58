"""A draft belongs to the link (the device) that saved it (issue #15, point 2).

The client is told the therapist does not see their trust answers one by one. A link a
staff member opens for the same session (the tablet, a printed QR code) must therefore
start empty, must not submit the client's saved answers as if chosen there, and the
submission it stores is marked as made on a staff-opened link. The first submission for
a session wins: later links find the check-in closed and store nothing.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from rapport.checkin.links import issue_link
from rapport.checkin.models import Channel, CheckinDraft, CheckinSubmission
from rapport.checkin.tests.helpers import full_answers
from rapport.clinic.models import AdministrationStatus
from rapport.testing import issue_checkin_link, login_verified

pytestmark = pytest.mark.django_db

TRUST_CHECKED = 'name="rapport_trust.trust_safe" value="6" checked'


@pytest.fixture
def own(clinics):
    """The client's own link, sent by e-mail."""
    return issue_checkin_link(clinics.owner_episode, channel=Channel.EMAIL)


@pytest.fixture
def tablet(clinics, own):
    """A link staff opened later for the same session (a QR code scanned on a clinic device)."""
    return issue_link(own.link.session, channel=Channel.PRINT, created_by=clinics.owner)


def answers_of(instrument_id: str, *, exclude: bool = False) -> dict[str, str]:
    """The full answers of one questionnaire (or, with ``exclude``, of all the others)."""
    return {
        name: value
        for name, value in full_answers().items()
        if name.startswith(f"{instrument_id}.") != exclude
    }


def test_a_new_link_never_shows_another_links_draft(client, own, tablet):
    client.post(f"{own.path}draft/", {"rapport_trust.trust_safe": "6", "screen": "1"})
    staff_device = Client()
    first = staff_device.get(tablet.path).content.decode()
    assert "Step 1 of 4" in first  # not the client's saved screen
    assert TRUST_CHECKED not in first
    # The client's own link still resumes with their answer.
    assert TRUST_CHECKED in client.get(f"{own.path}?screen=0").content.decode()


def test_a_staff_link_does_not_submit_the_clients_saved_answers(client, own, tablet):
    client.post(f"{own.path}draft/", {**answers_of("phq9"), "screen": "3"})
    # The PHQ-9 is required: without the client's saved answers, this is incomplete.
    response = Client().post(f"{tablet.path}submit/", answers_of("phq9", exclude=True))
    assert response.status_code == 200
    assert "Please answer these questions" in response.content.decode()
    assert not CheckinSubmission.objects.exists()
    statuses = set(own.link.session.administrations.values_list("status", flat=True))
    assert AdministrationStatus.COMPLETED not in statuses
    # The client's draft is untouched and their link still open.
    assert CheckinDraft.objects.get(link=own.link).answers["phq9"]["phq9_1"] == 0
    assert client.get(own.path).status_code == 200


def test_optional_answers_saved_by_the_client_are_not_sent_by_a_staff_link(client, own, tablet):
    client.post(f"{own.path}draft/", {"rapport_trust.trust_safe": "6", "screen": "1"})
    response = Client().post(f"{tablet.path}submit/", answers_of("rapport_trust", exclude=True))
    assert response.status_code == 200
    trust = own.link.session.administrations.get(instrument_id="rapport_trust")
    assert trust.answers == {}


def test_the_first_submission_wins(client, own, tablet):
    assert client.post(f"{own.path}submit/", full_answers()).status_code == 200
    stored = dict(own.link.session.administrations.values_list("instrument_id", "answers"))
    late = Client().post(f"{tablet.path}submit/", {**full_answers(), "phq9.phq9_1": "3"})
    assert late.status_code == 410
    assert dict(own.link.session.administrations.values_list("instrument_id", "answers")) == stored
    assert CheckinSubmission.objects.get().link == own.link


def test_a_staff_link_submission_closes_the_others_and_is_marked(client, clinics, own, tablet):
    client.post(f"{own.path}draft/", {"rapport_trust.trust_safe": "6", "screen": "1"})
    assert Client().post(f"{tablet.path}submit/", full_answers()).status_code == 200
    submission = CheckinSubmission.objects.get()
    assert submission.link == tablet.link and submission.staff_opened
    # The client's link is closed and its draft, which can no longer be sent, is gone.
    assert client.get(own.path).status_code == 410
    assert not CheckinDraft.objects.exists()
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert "completed on a link opened by staff" in page.content.decode()


def test_the_clients_own_submission_is_not_marked(client, clinics, own):
    assert client.post(f"{own.path}submit/", full_answers()).status_code == 200
    assert not CheckinSubmission.objects.get().staff_opened
    login_verified(client, clinics.owner)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert "opened by staff" not in page.content.decode()
