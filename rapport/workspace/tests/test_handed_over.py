"""After a hand-over, the client's old page tells the former therapist where the client
went (colleague and day, nothing clinical) on every later visit; everyone else who may
not open the client still gets 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from rapport.accounts.caseload_moves import hand_over_episode, move_caseload
from rapport.accounts.models import Role
from rapport.clinic.models import ClientIdentity
from rapport.security.models import AuditEvent
from rapport.testing import add_score, login_verified, make_user
from rapport.translation_coverage import hard_coded_text, read_po, template_msgids

pytestmark = pytest.mark.django_db


@pytest.fixture
def handed_over(clinics):
    """The owner's client, with a name and scores on file, handed over to the colleague."""
    ClientIdentity.objects.create(
        client=clinics.owner_client,
        given_name="Philippa",
        family_name="Quennell",
        email="philippa.quennell@example.invalid",
    )
    add_score(clinics.owner_episode.sessions.get(number=2), "rapport_trust", 3.25)
    hand_over_episode(clinics.owner_episode, clinics.colleague)
    return clinics


def _page(client, clinics):
    return client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))


def test_the_former_therapist_is_told_where_the_client_went_on_a_later_visit(client, handed_over):
    login_verified(client, handed_over.owner)
    page = _page(client, handed_over)
    assert page.status_code == 200
    text = page.content.decode()
    today = date_format(timezone.localdate(), "j M Y")
    record = handed_over.owner_client.record_number
    assert f"{record} was handed over to {handed_over.colleague} on {today}." in text
    notice = AuditEvent.objects.get(action="client.handover_notice")
    assert notice.actor_id == handed_over.owner.pk
    assert notice.object_id == str(handed_over.owner_client.public_id)


def test_the_notice_shows_nothing_of_the_record(client, handed_over):
    login_verified(client, handed_over.owner)
    text = _page(client, handed_over).content.decode()
    for private in ("Philippa", "Quennell", "example.invalid", "3.25", "5.5", "Trust"):
        assert private not in text
    assert 'id="hand-over"' not in text  # none of the record's sections or forms
    assert not AuditEvent.objects.filter(action="client.read").exists()


@pytest.mark.parametrize("who", ["other_therapist", "outsider", "clinic_admin"])
def test_nobody_else_learns_about_the_hand_over(client, handed_over, who):
    if who == "other_therapist":
        user = make_user(handed_over.organisation, Role.THERAPIST)
    else:
        user = handed_over.staff[who]
    login_verified(client, user)
    page = _page(client, handed_over)
    assert page.status_code in (403, 404)
    if who != "clinic_admin":  # an admin's role reads no client pages at all (403)
        assert page.status_code == 404
    assert str(handed_over.colleague) not in page.content.decode()
    assert not AuditEvent.objects.filter(action="client.handover_notice").exists()


def test_the_colleague_who_took_over_sees_the_record(client, handed_over):
    login_verified(client, handed_over.colleague)
    page = _page(client, handed_over)
    assert page.status_code == 200
    assert 'id="hand-over"' in page.content.decode()


def test_a_client_handed_back_opens_as_usual_for_the_former_therapist(client, handed_over):
    hand_over_episode(handed_over.owner_episode, handed_over.owner)
    login_verified(client, handed_over.owner)
    page = _page(client, handed_over)
    assert 'id="hand-over"' in page.content.decode()
    assert "was handed over to" not in page.content.decode()


def test_a_caseload_moved_by_the_clinic_admin_is_explained_too(client, clinics):
    move_caseload(clinics.owner, clinics.colleague)
    login_verified(client, clinics.owner)
    page = _page(client, clinics)
    assert page.status_code == 200
    assert f"was handed over to {clinics.colleague} on" in page.content.decode()


def test_the_notice_page_is_translated_into_spanish():
    template = Path(__file__).parents[1] / "templates" / "workspace" / "handed_over.html"
    catalogue = Path(__file__).parents[2] / "locale" / "es" / "LC_MESSAGES" / "django.po"
    assert template_msgids(template) - set(read_po(catalogue)) == set()
    assert hard_coded_text(template) == []
