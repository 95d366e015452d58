"""Consent, client data export and erasure (DP-8, DP-9), each audited."""

import datetime
import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from rapport.clinic.models import ClientDemographics, ClientIdentity, ConsentKind
from rapport.security import rights
from rapport.security.models import AuditEvent
from rapport.testing import add_score, add_session, make_episode, make_organisation, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_record():
    therapist = make_user(make_organisation("north"))
    episode = make_episode(therapist, record_number="R-0042", sessions=2)
    client = episode.client
    ClientIdentity.objects.create(
        client=client,
        given_name="Ada",
        family_name="Lovelace",
        email="ada@example.org",
        phone="+44 20 7946 0000",
        date_of_birth=datetime.date(1990, 12, 10),
        ethnicity_self_description="Anglo-Italian",
    )
    ClientDemographics.objects.create(client=client, gender="woman", age_band="35-44")
    session = episode.sessions.get(number=1)
    add_score(session, "rapport_trust", 31.0)
    phq9 = add_score(session, "phq9", 12.0, construct="symptoms")
    phq9.answers = {"1": 2, "2": 1}
    phq9.save()
    add_session(episode, 3)
    return client


def raw_database_text():
    """Every row of every table, as raw SQL returns it."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            rows.extend(list(map(str, row)) for row in cursor.fetchall())
    return json.dumps(rows)


def test_consent_changes_are_kept_as_history_and_audited(client_record):
    user = make_user(client_record.organisation)
    rights.set_consent(client_record, ConsentKind.CARE, True, user=user)
    rights.set_consent(client_record, ConsentKind.RESEARCH, True, user=user)
    rights.set_consent(client_record, ConsentKind.RESEARCH, False, user=user)
    assert rights.current_consents(client_record) == {"care": True, "research": False}
    assert not rights.has_consent(client_record, ConsentKind.RESEARCH)
    assert client_record.consents.count() == 3
    events = AuditEvent.objects.filter(action="consent.change").order_by("seq")
    assert [e.detail["consent_value"] for e in events] == ["granted", "granted", "withdrawn"]
    assert {e.object_id for e in events} == {str(client_record.public_id)}
    assert {e.actor_id for e in events} == {user.pk}


def test_unknown_consent_kind_is_refused(client_record):
    with pytest.raises(ValueError, match="consent kind"):
        rights.set_consent(client_record, "marketing", True)


def test_trust_answers_audience_is_per_clinic_and_audited(client_record):
    organisation = client_record.organisation
    assert organisation.trust_answers_audience == "therapist"
    rights.set_trust_answers_audience(organisation, "supervisors")
    organisation.refresh_from_db()
    assert organisation.trust_answers_audience == "supervisors"
    event = AuditEvent.objects.get(action="organisation.trust_audience_change")
    assert event.detail == {"audience": "supervisors"}
    with pytest.raises(ValueError, match="audience"):
        rights.set_trust_answers_audience(organisation, "everyone")


def test_export_contains_the_clients_data_and_is_audited(client_record):
    rights.set_consent(client_record, ConsentKind.CARE, True)
    user = make_user(client_record.organisation)
    data = rights.export_client(client_record, user=user)
    json.dumps(data)  # JSON-ready
    assert data["identity"]["given_name"] == "Ada"
    assert data["identity"]["date_of_birth"] == "1990-12-10"
    assert data["demographics"]["age_band"] == "35-44"
    assert data["consents"][0]["kind"] == "care"
    (episode,) = data["episodes"]
    assert [s["number"] for s in episode["sessions"]] == [1, 2, 3]
    administrations = episode["sessions"][0]["administrations"]
    assert {a["instrument_id"]: a["total"] for a in administrations} == {
        "rapport_trust": 31.0,
        "phq9": 12.0,
    }
    assert administrations[1]["answers"] == {"1": 2, "2": 1}
    event = AuditEvent.objects.get(action="client.export")
    assert (event.object_id, event.actor_id) == (str(client_record.public_id), user.pk)
    assert "Ada" not in json.dumps(event.detail)


def test_export_command_writes_json(client_record, tmp_path):
    output = tmp_path / "export.json"
    call_command("client", "export", "R-0042", "--org", "north", "--output", str(output))
    data = json.loads(output.read_text())
    assert data["client"]["record_number"] == "R-0042"
    assert AuditEvent.objects.get(action="client.export").detail["via"] == "cli"


def test_unknown_client_is_a_clear_error(client_record):
    with pytest.raises(CommandError, match="no client with record number"):
        call_command("client", "export", "R-9999", "--org", "north")


def test_identity_is_ciphertext_in_raw_sql_before_erasure(client_record):
    dump = raw_database_text()
    assert "Lovelace" not in dump and "ada@example.org" not in dump


def test_erase_requires_confirm(client_record):
    with pytest.raises(CommandError, match="--confirm"):
        call_command("client", "erase", "R-0042", "--org", "north")
    assert ClientIdentity.objects.filter(client=client_record).exists()


def test_erasure_leaves_no_name_recoverable_and_keeps_scores(client_record):
    rights.set_consent(client_record, ConsentKind.RESEARCH, True)
    call_command("client", "erase", "R-0042", "--org", "north", "--confirm")
    client_record.refresh_from_db()
    assert not ClientIdentity.objects.filter(client=client_record).exists()
    assert rights.is_erased(client_record) and client_record.record_number != "R-0042"
    dump = raw_database_text()
    # Matched as whole tokens: a short fragment such as "7946" or "Ada" turns up by chance
    # inside the hex and base64 of MACs, UUIDs and ciphertext elsewhere in the dump.
    for fragment in ["Ada", "Lovelace", "ada@example.org", "7946", "Anglo"]:
        assert not re.search(rf"(?<![\w-]){re.escape(fragment)}(?![\w-])", dump), fragment
    totals = sorted(
        a["total"]
        for s in rights.export_client(client_record)["episodes"][0]["sessions"]
        for a in s["administrations"]
    )
    assert totals == [12.0, 31.0]
    assert ClientDemographics.objects.get(client=client_record).age_band == "35-44"
    assert rights.current_consents(client_record)["research"] is True
    later = rights.export_client(client_record)
    assert later["identity"] is None and "Ada" not in json.dumps(later)
    event = AuditEvent.objects.get(action="client.erase")
    assert event.object_id == str(client_record.public_id)
    with pytest.raises(rights.ClientNotFoundError):
        rights.find_client("R-0042", "north")


def _comments_notes_and_their_ciphertext(client):
    from rapport.checkin.models import Alert, AlertKind, CheckinDraft, CheckinSubmission
    from rapport.testing import issue_checkin_link

    episode = client.episodes.get()
    issued = issue_checkin_link(episode)
    CheckinSubmission.objects.create(
        link=issued.link, session=issued.link.session, comment="my brother Rufus visits"
    )
    CheckinDraft.objects.create(link=issued.link, comment="Rufus again")
    Alert.objects.create(
        organisation=client.organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=client,
        episode=episode,
        acknowledged_at=datetime.datetime(2026, 1, 5, tzinfo=datetime.UTC),
        acknowledgement_note="called Ada at her work in Greenwich",
    )
    stored = []
    with connection.cursor() as cursor:
        for table, column in [
            ("checkin_checkinsubmission", "comment"),
            ("checkin_checkindraft", "comment"),
            ("checkin_alert", "acknowledgement_note"),
        ]:
            cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 - fixed names
            stored.extend(value for (value,) in cursor.fetchall())
    return stored


def test_erasure_destroys_comments_and_acknowledgement_notes(client_record):
    from rapport.checkin.models import Alert, CheckinDraft, CheckinSubmission

    ciphertexts = _comments_notes_and_their_ciphertext(client_record)
    assert len(ciphertexts) == 3 and all(ciphertexts)
    rights.erase_client(client_record)
    dump = raw_database_text()
    assert not [text for text in ciphertexts if text in dump]
    assert CheckinSubmission.objects.get().comment == ""
    assert CheckinDraft.objects.get().comment == ""
    alert = Alert.objects.get()
    assert alert.acknowledgement_note == "" and alert.acknowledged_at is not None


def test_an_erased_record_gets_a_new_public_id(client_record):
    from rapport.clinic.models import Client

    old_public_id = client_record.public_id
    rights.erase_client(client_record)
    client_record.refresh_from_db()
    assert client_record.public_id != old_public_id
    assert not Client.objects.filter(public_id=old_public_id).exists()
    event = AuditEvent.objects.get(action="client.erase")
    assert event.object_id == str(client_record.public_id)


def test_export_holds_the_clients_own_words_and_the_alert_records(client_record):
    from rapport.checkin.models import TalkRequest

    _comments_notes_and_their_ciphertext(client_record)
    episode = client_record.episodes.get()
    TalkRequest.objects.create(
        episode=episode, session=episode.sessions.get(number=1), note="the homework feels too much"
    )

    data = rights.export_client(client_record)

    (exported,) = data["episodes"]
    comments = [c["comment"] for s in exported["sessions"] for c in s["checkin_comments"]]
    assert comments == ["my brother Rufus visits"]
    assert [t["note"] for t in exported["talk_requests"]] == ["the homework feels too much"]
    (alert,) = data["alerts"]
    assert alert["acknowledgement_note"] == "called Ada at her work in Greenwich"
    assert alert["episode"] == str(episode.public_id)
    assert data["version"] == 2
