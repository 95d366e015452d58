"""FHIR: the client Bundle validates; export, import into a fresh clinic, export: same content."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from rapport.clinic.models import Administration, ClientIdentity, Organisation
from rapport.instruments import load_directory, load_registry
from rapport.instruments.fhir import questionnaire_from_instrument, validate_resource
from rapport.interop.context import InteropError
from rapport.interop.fhir_export import client_bundle
from rapport.interop.fhir_import import import_fhir_file
from rapport.security.models import AuditEvent
from rapport.testing import make_episode, make_organisation, make_user

pytestmark = pytest.mark.django_db
REGISTRY = load_registry()


def give(session, instrument_id: str, answers: dict) -> Administration:
    instrument = REGISTRY[instrument_id]
    administration = Administration(
        session=session,
        instrument_id=instrument.id,
        instrument_version=instrument.version,
        construct=instrument.construct,
        status="completed",
        completed_at=session.scheduled_at,
        answers=answers,
    )
    administration.apply_scores(instrument.score(answers))
    administration.save()
    return administration


@pytest.fixture
def record(db):
    organisation = make_organisation("riverside")
    episode = make_episode(make_user(organisation), record_number="R-77", sessions=3)
    sessions = {s.number: s for s in episode.sessions.all()}
    give(sessions[1], "phq9", {f"phq9_{i}": i % 4 for i in range(1, 10)})
    give(sessions[1], "gad7", {f"gad7_{i}": 1 for i in range(1, 8)})
    give(sessions[3], "phq9", {f"phq9_{i}": 0 for i in range(1, 9)})  # item 9 missing
    trust = REGISTRY["rapport_trust"]
    give(sessions[3], "rapport_trust", {item.id: item.max_value for item in trust.items})
    ClientIdentity.objects.create(client=episode.client, given_name="Imogen", email="i@x.org")
    return episode


def content(bundle: dict) -> str:
    """The Bundle without ids, full URLs and references (they are per database)."""

    def strip(value):
        if isinstance(value, dict):
            return {
                k: strip(v)
                for k, v in value.items()
                if k not in {"id", "fullUrl", "reference", "derivedFrom"}
            }
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return json.dumps(strip(bundle), sort_keys=True)


def test_the_client_bundle_validates_and_is_pseudonymous(record):
    bundle = client_bundle("R-77", record.client.organisation, REGISTRY)
    validate_resource(bundle)
    kinds = [entry["resource"]["resourceType"] for entry in bundle["entry"]]
    assert kinds.count("QuestionnaireResponse") == 4
    assert kinds.count("Encounter") == 2 and kinds.count("EpisodeOfCare") == 1
    assert kinds.count("Observation") >= 4
    assert "Imogen" not in json.dumps(bundle)
    assert AuditEvent.objects.filter(action="client.export").get().detail["format"] == "fhir"


def test_identity_is_added_only_when_asked(record):
    bundle = client_bundle("R-77", record.client.organisation, REGISTRY, identity=True)
    patient = bundle["entry"][0]["resource"]
    assert patient["name"] == [{"given": ["Imogen"]}]
    assert patient["telecom"] == [{"system": "email", "value": "i@x.org"}]


def test_round_trip_into_a_fresh_clinic_is_identical_in_content(tmp_path, record):
    original = record.client.organisation
    first = client_bundle("R-77", original, REGISTRY)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(first))
    # A fresh clinic under the same slug: the client and its episode exist, nothing else.
    original.slug = "riverside-old"
    original.save()
    fresh = Organisation.objects.create(slug="riverside", name="Riverside (new system)")
    from rapport.clinic.models import MeasurementPlan

    MeasurementPlan.objects.create(organisation=fresh, name="Plan", is_default=True)
    make_episode(make_user(fresh), record_number="R-77")
    report = import_fhir_file(path, fresh, REGISTRY)
    assert (report.created_administrations, report.created_sessions) == (4, 2)
    second = client_bundle("R-77", fresh, REGISTRY)
    assert content(second) == content(first)
    again = import_fhir_file(path, fresh, REGISTRY)
    assert (again.created_administrations, again.unchanged) == (0, 4)


def test_import_refuses_unknown_clients_and_changes_nothing(tmp_path, record):
    bundle = client_bundle("R-77", record.client.organisation, REGISTRY)
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    other = make_organisation("elsewhere")
    before = Administration.objects.count()
    with pytest.raises(InteropError, match="nothing was imported"):
        import_fhir_file(path, other, REGISTRY)
    assert Administration.objects.count() == before


def test_conflicting_answers_are_refused(tmp_path, record):
    bundle = client_bundle("R-77", record.client.organisation, REGISTRY)
    Administration.objects.filter(instrument_id="gad7").update(answers={"gad7_1": 3})
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    with pytest.raises(InteropError, match="already holds other answers"):
        import_fhir_file(path, record.client.organisation, REGISTRY)


def test_a_lone_response_is_refused_with_the_reason(tmp_path, record):
    bundle = client_bundle("R-77", record.client.organisation, REGISTRY)
    response = next(
        e["resource"] for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    )  # fmt: skip
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(response))
    with pytest.raises(InteropError, match="import the Bundle"):
        import_fhir_file(path, record.client.organisation, REGISTRY)


@pytest.mark.parametrize("instrument_id", sorted(REGISTRY))
def test_every_shipped_questionnaire_imports_as_a_loadable_definition(tmp_path, instrument_id):
    instrument = REGISTRY[instrument_id]
    questionnaire = questionnaire_from_instrument(instrument)
    questionnaire["version"] = "99"  # a new version, so the shipped one does not collide
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questionnaire))
    folder = tmp_path / "instruments"
    report = import_fhir_file(path, None, REGISTRY, instruments_dir=folder)
    [loaded] = load_directory(folder)
    assert report.written_definition.name == f"{instrument_id}-v99.yaml"
    assert (loaded.id, loaded.version, loaded.item_ids) == (
        instrument.id,
        "99",
        instrument.item_ids,
    )


def test_an_unscorable_questionnaire_reports_what_is_missing(tmp_path, db):
    path = tmp_path / "q.json"
    path.write_text(
        json.dumps(
            {
                "resourceType": "Questionnaire",
                "id": "mood",
                "status": "active",
                "item": [{"linkId": "q1", "type": "string", "text": "How are you?"}],
            }
        )
    )
    with pytest.raises(InteropError, match="cannot become an instrument") as raised:
        import_fhir_file(path, None, REGISTRY, instruments_dir=tmp_path / "instruments")
    assert "q1" in str(raised.value)
    assert not (tmp_path / "instruments").exists() or not any((tmp_path / "instruments").iterdir())


def test_the_already_loaded_version_is_not_written_again(tmp_path, db):
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questionnaire_from_instrument(REGISTRY["gad7"])))
    with pytest.raises(InteropError, match="already loaded"):
        import_fhir_file(path, None, REGISTRY, instruments_dir=tmp_path)


def test_commands(tmp_path, record):
    out = tmp_path / "bundle.json"
    call_command("export", "fhir", "R-77", "--org", "riverside", "--out", str(out),
                 stderr=io.StringIO())  # fmt: skip
    validate_resource(json.loads(out.read_text()))
    stdout = io.StringIO()
    call_command("import", "fhir", str(out), "--org", "riverside", stdout=stdout)
    assert "imported 0 administration(s) (4 already present)" in stdout.getvalue()
    with pytest.raises(CommandError, match="no client"):
        call_command("export", "fhir", "R-NOPE", "--org", "riverside")


def _questionnaire_file(tmp_path, *, instrument_id="gad7", version="99"):
    from rapport.instruments.fhir.systems import RapportSystems

    questionnaire = questionnaire_from_instrument(REGISTRY["gad7"])
    questionnaire["version"] = version
    for identifier in questionnaire["identifier"]:
        if identifier["system"] == RapportSystems().instruments:
            identifier["value"] = instrument_id
    path = tmp_path / "q.json"
    path.write_text(json.dumps(questionnaire))
    return path


@pytest.mark.parametrize(
    ("instrument_id", "version"),
    [("../../escaped", "99"), ("gad7", "../../escaped"), ("/etc/x", "1"), ("gad7", "1/../../x")],
)
def test_an_identifier_that_is_not_a_plain_name_writes_nothing_anywhere(
    tmp_path, instrument_id, version
):
    folder = tmp_path / "a" / "b" / "instruments"
    path = _questionnaire_file(tmp_path, instrument_id=instrument_id, version=version)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(InteropError, match=r"instrument (id|version)"):
        import_fhir_file(path, None, REGISTRY, instruments_dir=folder)
    assert sorted(tmp_path.rglob("*")) == before


@pytest.mark.parametrize("kind", ["list", "object"])
def test_a_deeply_nested_file_is_refused_with_a_clear_error(tmp_path, kind):
    path = tmp_path / "deep.json"
    opening, closing = ("[", "]") if kind == "list" else ('{"a":', "}")
    path.write_text(
        '{"resourceType": "Bundle", "entry": ' + opening * 100_000 + "1" + closing * 100_000 + "}"
    )
    with pytest.raises(InteropError, match="nested deeper than 64"):
        import_fhir_file(path, None, REGISTRY)


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, settings):
    settings.FHIR_IMPORT_MAX_BYTES = 1000
    path = _questionnaire_file(tmp_path)
    with pytest.raises(InteropError, match="larger than the 1000-byte limit"):
        import_fhir_file(path, None, REGISTRY, instruments_dir=tmp_path / "instruments")


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("EpisodeOfCare", "period", {"start": "0001-01-01"}),
        ("Encounter", "period", {"start": "9999-12-31T23:59:00+00:00"}),
        ("QuestionnaireResponse", "authored", "0001-01-01T00:00:00+00:00"),
    ],
)
def test_a_bundle_with_a_date_out_of_range_is_refused(tmp_path, record, kind, field, value):
    bundle = client_bundle("R-77", record.client.organisation, REGISTRY)
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == kind:
            entry["resource"][field] = value
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle))
    Administration.objects.all().delete()
    with pytest.raises(InteropError, match="between 1900-01-01 and 2100-12-31"):
        import_fhir_file(path, record.client.organisation, REGISTRY)
    assert not Administration.objects.exists()
