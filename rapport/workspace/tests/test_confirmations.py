"""What cannot be undone is asked for, not preselected: handing a client over and closing
an episode need an explicit choice and a confirmation naming what will happen."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from rapport.clinic.models import EpisodeStatus
from rapport.security.models import AuditEvent

pytestmark = pytest.mark.django_db


def _section(http, clinics, anchor: str) -> str:
    page = http.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    return page.content.decode().split(f'id="{anchor}"')[1].split("</form>")[0]


def test_the_hand_over_form_preselects_nobody_and_asks_for_confirmation(therapist_client, clinics):
    form = _section(therapist_client, clinics, "hand-over")
    options = form.split("<option")[1:]
    assert options[0].startswith(' value="" selected')  # "Choose a colleague…"
    assert "You will no longer be able to open this client&#x27;s record" in form
    assert 'name="confirm"' in form and "required" in form.split('name="confirm"')[1][:40]


def test_the_close_form_has_no_default_reason_or_day_and_asks_for_confirmation(
    therapist_client, clinics
):
    form = _section(therapist_client, clinics, "close")
    ended_on = form.split('name="ended_on"')[1].split(">")[0]
    assert "value=" not in ended_on
    reasons = form.split('name="end_reason"')[1].split("</select>")[0]
    assert reasons.split("<option")[1].startswith(' value="" selected')
    assert 'name="confirm"' in form


def test_a_hand_over_without_confirmation_is_refused(therapist_client, clinics):
    url = reverse("episode-hand-over", args=[clinics.owner_episode.public_id])
    page = therapist_client.post(url, {"to": clinics.colleague.pk}, follow=True)
    assert "Not handed over: confirm that you understand" in page.content.decode()
    clinics.owner_episode.refresh_from_db()
    assert clinics.owner_episode.therapist == clinics.owner
    assert not AuditEvent.objects.filter(action="episode.hand_over").exists()


def test_closing_without_confirmation_is_refused(therapist_client, clinics):
    episode = clinics.owner_episode
    url = reverse("episode-close", args=[episode.public_id])
    data = {"ended_on": "2026-03-01", "end_reason": "completed"}
    page = therapist_client.post(url, data, follow=True)
    assert "Not closed: confirm that you understand" in page.content.decode()
    episode.refresh_from_db()
    assert episode.status == EpisodeStatus.ACTIVE


def test_closing_without_a_reason_is_refused(therapist_client, clinics):
    episode = clinics.owner_episode
    url = reverse("episode-close", args=[episode.public_id])
    data = {"ended_on": "2026-03-01", "end_reason": "", "confirm": "on"}
    page = therapist_client.post(url, data, follow=True)
    assert "Not closed: choose a reason." in page.content.decode()
    episode.refresh_from_db()
    assert episode.status == EpisodeStatus.ACTIVE


def test_after_a_hand_over_the_former_therapist_is_told_where_the_client_went(
    therapist_client, clinics
):
    url = reverse("episode-hand-over", args=[clinics.owner_episode.public_id])
    data = {"to": clinics.colleague.pk, "confirm": "on"}
    response = therapist_client.post(url, data, follow=True)
    assert response.redirect_chain[-1][0] == reverse("home")
    today = date_format(timezone.localdate(), "j M Y")
    record = clinics.owner_client.record_number
    assert f"{record} handed over to {clinics.colleague} on {today}" in response.content.decode()
