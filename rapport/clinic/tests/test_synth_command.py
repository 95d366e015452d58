import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.accounts.models import User
from rapport.clinic.models import Administration, Client, Episode, Organisation, Session
from rapport.instruments import load_registry

pytestmark = pytest.mark.django_db


def synth(**options):
    defaults = {"seed": 3, "clients": 40, "therapists": 3, "anchor": datetime.date(2026, 11, 2)}
    call_command("synth", no_progress=True, **(defaults | options))


def test_synth_creates_a_complete_clinic():
    synth(org="riverside")
    organisation = Organisation.objects.get(slug="riverside")
    assert Client.objects.filter(organisation=organisation).count() == 40
    assert Episode.objects.filter(client__organisation=organisation).count() == 40
    assert User.objects.filter(organisation=organisation, role="therapist").count() == 3
    assert Session.objects.filter(episode__client__organisation=organisation).exists()
    assert Client.objects.filter(identity__isnull=True).count() == 0
    assert Client.objects.filter(demographics__isnull=True).count() == 0


def test_stored_scores_are_the_instruments_scores_of_the_stored_answers():
    synth()
    registry = load_registry()
    completed = Administration.objects.filter(status="completed")
    assert completed.count() > 100
    for administration in completed:
        expected = registry[administration.instrument_id].score(administration.answers)
        assert administration.total == expected.total
        assert administration.band == (expected.band or "")
        assert administration.flags == expected.flags


def test_the_same_seed_gives_the_same_records_in_two_organisations():
    synth(org="first")
    synth(org="second", username_prefix="second.")

    def snapshot(slug):
        return list(
            Administration.objects.filter(session__episode__client__organisation__slug=slug)
            .order_by("session__episode__client__record_number", "session__number", "instrument_id")
            .values_list("session__episode__client__record_number", "instrument_id", "answers")
        )

    assert snapshot("first") == snapshot("second")


def test_synth_refuses_to_touch_an_existing_organisation():
    synth(org="taken")
    before = Client.objects.count()
    with pytest.raises(CommandError, match="already exists"):
        synth(org="taken")
    assert Client.objects.count() == before


def test_synth_refuses_staff_usernames_that_are_taken():
    synth(org="one")
    with pytest.raises(CommandError, match="username-prefix"):
        synth(org="two")
    assert not Organisation.objects.filter(slug="two").exists()


def test_synth_rejects_a_bad_client_count():
    with pytest.raises(CommandError, match="at least one client"):
        synth(clients=0)
    assert not Organisation.objects.exists()
