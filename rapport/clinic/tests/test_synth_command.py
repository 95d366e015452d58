import datetime
import io
import re

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.accounts.models import User
from rapport.checkin.links import SESSION_LENGTH
from rapport.checkin.models import CheckinLink
from rapport.checkin.worklist import worklist_for
from rapport.clinic.models import Administration, Client, Episode, Organisation, Session
from rapport.instruments import load_registry
from rapport.security.models import AuditEvent
from rapport.synth import SynthConfig, generate_clients

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


def test_synth_opens_pending_and_overdue_check_ins_on_the_generated_sessions():
    today = datetime.date.today()
    output = io.StringIO()
    call_command(
        "synth", seed=5, clients=120, therapists=3, anchor=today, no_progress=True, stdout=output
    )
    counts = re.search(r"Check-ins open: (\d+) pending, (\d+) overdue\.", output.getvalue())
    assert counts, output.getvalue()
    pending, overdue = int(counts[1]), int(counts[2])
    assert pending > 5 and overdue > 1

    rows = {"pending": 0, "overdue": 0}
    for therapist in User.objects.filter(role="therapist"):
        worklist = worklist_for(therapist)
        rows["pending"] += len(worklist.pending)
        rows["overdue"] += len(worklist.overdue)
        assert all(row.link_open for row in worklist.pending + worklist.overdue)
    assert rows == {"pending": pending, "overdue": overdue}

    # Each through the real link code: one printed link by the treating therapist, audited,
    # open at least until its session has ended.
    links = CheckinLink.objects.select_related("session__episode")
    assert links.count() == pending + overdue
    for link in links:
        assert link.channel == "print"
        assert link.created_by == link.session.episode.therapist
        assert link.expires_at >= link.session.scheduled_at + SESSION_LENGTH
    assert AuditEvent.objects.filter(action="checkin.link_create").count() == links.count()

    # Nothing invented: exactly the sessions the generator scheduled.
    config = SynthConfig(seed=5, n_clients=120, n_therapists=3, anchor=today)
    chunks = list(generate_clients(config, load_registry()))
    generated = pd.concat([chunk.sessions for chunk in chunks])
    assert Session.objects.count() == len(generated)
