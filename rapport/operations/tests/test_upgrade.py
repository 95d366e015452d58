"""`rapport migrate` upgrades a database of the previous release, and of an older state,
with its data: what was stored before the upgrade reads back through today's code.

The database is built as that release left it (rapport/operations/releases.py): an empty
database migrated to the release's recorded migrations, filled through the historical
models of that state, then upgraded with today's `migrate`. The older state (before the
worker, safety notices and safety plans) has data migrations ahead of it: a draft moves
from its session to the client's link, pending check-ins move to version 2, a stored
PHQ-9 with a blank item 9 gains its flag.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.test import Client as Browser
from django.urls import reverse
from django.utils import timezone

from rapport.operations.releases import MigrationState, previous_release, upgrade_test_states
from rapport.security import audit

REPO = Path(__file__).resolve().parents[3]
PHQ9_WITHOUT_ITEM_9 = {f"phq9_{i}": 1 for i in range(1, 9)}


@pytest.fixture
def empty_database(transactional_db):
    """The test database with every table dropped; fully migrated again afterwards,
    whatever the test did, so the tests after it find today's schema."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public")
        else:
            cursor.execute("PRAGMA foreign_keys = OFF")
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f'DROP TABLE "{table}"')
            cursor.execute("PRAGMA foreign_keys = ON")
    yield
    call_command("migrate", verbosity=0)


def migrate_to(state: MigrationState):
    """Apply exactly the migrations ``state`` records; returns that state's models."""
    executor = MigrationExecutor(connection)
    targets = state.targets({app for app, _ in executor.loader.graph.leaf_nodes()})
    executor.migrate(targets)
    # The models of that state, rendered afresh (the executor's own state is mid-change).
    loader = MigrationLoader(connection)
    return loader.project_state([(app, name) for app, name in targets if name]).apps


@dataclass
class Stored:
    client_public_id: str
    therapist_username: str
    email_link_pk: int


def fill_as_the_release_did(apps) -> Stored:
    """A clinic's data, written through the models as they were in that state."""
    model = apps.get_model
    now = timezone.now()
    organisation = model("clinic", "Organisation").objects.create(
        name="Upgrade Clinic", slug="upgrade"
    )
    therapist = model("accounts", "User").objects.create(
        username="upgrade-therapist",
        password=make_password("a long upgrade password"),
        organisation=organisation,
        role="therapist",
    )
    plan = model("clinic", "MeasurementPlan").objects.create(
        organisation=organisation, name="Standard", is_default=True
    )
    for position, instrument_id in enumerate(("phq9", "gad7")):
        model("clinic", "PlanEntry").objects.create(
            plan=plan, instrument_id=instrument_id, every_n_sessions=1, position=position
        )
    client = model("clinic", "Client").objects.create(
        organisation=organisation, record_number="UPG-1"
    )
    model("clinic", "ClientIdentity").objects.create(
        client=client, given_name="Ada", family_name="Lovelace", email="ada@example.org"
    )
    episode = model("clinic", "Episode").objects.create(
        client=client,
        therapist=therapist,
        plan=plan,
        started_on=(now - datetime.timedelta(days=30)).date(),
        status="active",
    )
    Session = model("clinic", "Session")
    attended = Session.objects.create(
        episode=episode, number=1, scheduled_at=now - datetime.timedelta(days=7), status="attended"
    )
    upcoming = Session.objects.create(
        episode=episode, number=2, scheduled_at=now + datetime.timedelta(days=1)
    )
    Administration = model("clinic", "Administration")
    Administration.objects.create(
        session=attended,
        instrument_id="phq9",
        instrument_version="1",
        construct="outcome",
        status="completed",
        completed_at=attended.scheduled_at,
        answers=PHQ9_WITHOUT_ITEM_9,
        total=8.0,
        band="mild",
        missing=["phq9_9"],
    )
    Administration.objects.create(
        session=upcoming, instrument_id="gad7", instrument_version="1", construct="outcome"
    )
    CheckinLink = model("checkin", "CheckinLink")
    used_link = CheckinLink.objects.create(
        session=attended,
        token_hash="a" * 64,
        channel="email",
        expires_at=attended.scheduled_at + datetime.timedelta(days=3),
        used_at=attended.scheduled_at,
    )
    model("checkin", "CheckinSubmission").objects.create(
        link=used_link, session=attended, comment="Felt heard this week"
    )
    email_link = CheckinLink.objects.create(
        session=upcoming,
        token_hash="b" * 64,
        channel="email",
        expires_at=now + datetime.timedelta(days=2),
    )
    Draft = model("checkin", "CheckinDraft")
    owner = {"link": email_link} if "link" in _field_names(Draft) else {"session": upcoming}
    Draft.objects.create(**owner, answers={"gad7_1": 2}, comment="Half written")
    model("checkin", "Alert").objects.create(
        organisation=organisation,
        kind="critical_item",
        client=client,
        episode=episode,
        session=attended,
        code="critical:phq9_9",
        acknowledged_at=now,
        acknowledged_by=therapist,
        acknowledgement_note="Called, safe",
    )
    return Stored(str(client.public_id), therapist.username, email_link.pk)


def _field_names(model) -> set[str]:
    return {field.name for field in model._meta.get_fields()}


def audit_as_the_release_did(state: MigrationState) -> None:
    # The audit tables are the same in every recorded state (asserted): today's
    # module writes the entries the release wrote, HMAC chain included.
    assert state.migrations["security"] == previous_release().migrations["security"]
    audit.record("client.view", object_type="clinic.client", object_id="UPG-1")
    audit.record("checkin.submit", object_type="checkin.link", object_id="1")


def test_released_migrations_are_never_edited():
    release = previous_release()
    assert release.migration_files_sha256, "the release records its migration files"
    for path, recorded in release.migration_files_sha256.items():
        file = REPO / path
        assert file.exists(), f"{path} shipped in {release.name} and must stay"
        # A clinic's database already ran the shipped text: an edit never reaches it.
        assert hashlib.sha256(file.read_bytes()).hexdigest() == recorded, (
            f"{path} shipped in {release.name}; add a new migration instead of editing it"
        )


@pytest.mark.parametrize("state", upgrade_test_states(), ids=lambda state: state.commit)
def test_migrate_upgrades_a_database_with_data_and_it_reads_back(empty_database, state):
    applied_before = set(state.migrations.items())
    stored = fill_as_the_release_did(migrate_to(state))
    audit_as_the_release_did(state)

    call_command("migrate", verbosity=0)  # what `rapport migrate` runs

    # Today's models, access layer and pages over the upgraded rows.
    from rapport.accounts.models import User
    from rapport.checkin.models import Alert, CheckinDraft, CheckinSubmission
    from rapport.clinic.models import Administration, Client
    from rapport.security import access
    from rapport.testing import login_verified

    therapist = User.objects.get(username=stored.therapist_username)
    client = access.clients_for(therapist).get(public_id=stored.client_public_id)
    assert (client.identity.given_name, client.identity.family_name) == ("Ada", "Lovelace")
    assert client.identity.email == "ada@example.org"
    phq9 = access.administrations_for(therapist).get(instrument_id="phq9")
    assert (phq9.total, phq9.band, phq9.answers) == (8.0, "mild", PHQ9_WITHOUT_ITEM_9)
    assert CheckinSubmission.objects.get().comment == "Felt heard this week"
    alert = Alert.objects.get()
    assert (alert.code, alert.acknowledgement_note) == ("critical:phq9_9", "Called, safe")
    verification = audit.verify()
    assert verification.ok, verification.problem
    assert verification.checked >= 2

    # The data migrations this upgrade ran did their work.
    draft = CheckinDraft.objects.get()
    assert (draft.link_id, draft.comment) == (stored.email_link_pk, "Half written")
    gad7 = Administration.objects.get(instrument_id="gad7")
    if ("clinic", "0004_pending_checkins_use_version_2") not in applied_before:
        assert gad7.instrument_version == "2"
        assert "unanswered:phq9_9" in phq9.flags
    else:
        assert gad7.instrument_version == "1"  # already upgraded data is left alone

    # And the therapist's page shows the client by name, decrypted.
    browser = Browser()
    login_verified(browser, therapist)
    page = browser.get(reverse("client-detail", args=[client.public_id]))
    assert page.status_code == 200
    assert "Ada Lovelace" in page.content.decode()
    assert Client.objects.count() == 1
