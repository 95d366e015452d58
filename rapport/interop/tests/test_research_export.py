"""Research export: consented clients only, nothing identifying, small cells suppressed."""

from __future__ import annotations

import datetime
import io
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from rapport.clinic.models import (
    Client,
    ClientIdentity,
    Consent,
    ConsentKind,
    Episode,
    Organisation,
    Session,
)
from rapport.clinic.synth_writer import write_synthetic_clinic
from rapport.instruments import load_registry
from rapport.interop.research_export import ResearchExportError, export_research
from rapport.security import rights
from rapport.security.models import AuditEvent
from rapport.synth import SynthConfig

pytestmark = pytest.mark.django_db
FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@pytest.fixture
def clinic(db) -> Organisation:
    config = SynthConfig(seed=7, n_clients=40, anchor=datetime.date(2026, 6, 1))
    organisation = write_synthetic_clinic(
        config, load_registry(), slug="synthetic", name="Synthetic", password="x" * 16
    )
    withdrawn = Client.objects.filter(organisation=organisation).order_by("pk")[:5]
    for client in withdrawn:
        rights.set_consent(client, ConsentKind.RESEARCH, False)
    return organisation


def output_text(folder: Path) -> str:
    """Every output file as text (Parquet tables rendered cell by cell)."""
    parts = []
    for path in sorted(folder.iterdir()):
        if path.suffix == ".parquet":
            table = pq.read_table(path).to_pylist()
            parts.append(json.dumps(table, default=str))
            parts.append(" ".join(pq.read_schema(path).names))
        else:
            parts.append(path.read_text(encoding="utf-8"))
    return "\n".join(parts)


def identifiers(organisation: Organisation) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {"names": set(), "other": set(), "dates": set()}
    for client in Client.objects.filter(organisation=organisation):
        found["other"].add(client.record_number)
        found["other"].add(str(client.public_id))
        identity = ClientIdentity.objects.filter(client=client).first()
        if identity:
            found["names"] |= {identity.given_name, identity.family_name}
            found["other"] |= {identity.email, identity.phone}
            if identity.date_of_birth:
                found["dates"].add(identity.date_of_birth.isoformat())
    for episode in Episode.objects.filter(client__organisation=organisation):
        found["other"].add(str(episode.public_id))
        found["dates"].add(episode.started_on.isoformat())
        if episode.ended_on:
            found["dates"].add(episode.ended_on.isoformat())
    for session in Session.objects.filter(episode__client__organisation=organisation):
        found["other"].add(str(session.public_id))
        found["dates"].add(timezone.localdate(session.scheduled_at).isoformat())
    found["names"].discard("")
    found["other"].discard("")
    return found


@pytest.mark.parametrize("date_mode", ["year", "shift"])
def test_no_identifier_or_free_text_leaves(tmp_path, clinic, date_mode):
    summary = export_research(clinic, tmp_path / "out", date_mode=date_mode)
    assert summary.clients == 35
    text = output_text(tmp_path / "out")
    secrets = identifiers(clinic)
    for name in secrets["names"]:
        assert not re.search(rf"\b{re.escape(name)}\b", text), name
    for value in secrets["other"]:
        assert value not in text, value
    if date_mode == "year":
        dates_in_output = set(FULL_DATE.findall(text))
        # Only the manifest's own creation date is a full date.
        manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
        assert dates_in_output <= {manifest["created_at"][:10]}
    else:
        for day in secrets["dates"] & {d for d in secrets["dates"] if d.startswith("19")}:
            assert day not in text  # birth dates are never exported at all


def test_shifted_dates_hide_the_real_ones_and_keep_intervals(tmp_path, db):
    from rapport.testing import make_episode, make_organisation, make_user

    organisation = make_organisation("solo")
    episode = make_episode(make_user(organisation), sessions=3)
    Consent.objects.create(client=episode.client, kind=ConsentKind.RESEARCH, granted=True)
    export_research(organisation, tmp_path / "out", formats=["csv"], date_mode="shift")
    text = output_text(tmp_path / "out")
    real = {episode.started_on.isoformat()} | {
        timezone.localdate(s.scheduled_at).isoformat() for s in episode.sessions.all()
    }
    assert not real & set(FULL_DATE.findall(text))
    lines = (tmp_path / "out" / "administrations.csv").read_text().splitlines()
    assert len(lines) == 1  # make_episode sessions have no administrations
    started = (tmp_path / "out" / "episodes.csv").read_text().splitlines()[1].split(",")[3]
    shift = datetime.date.fromisoformat(started) - episode.started_on
    assert 1 <= abs(shift.days) <= 182


def test_only_consented_clients_and_fresh_study_ids(tmp_path, clinic):
    first = export_research(clinic, tmp_path / "a", formats=["csv"])
    second = export_research(clinic, tmp_path / "b", formats=["csv"])
    assert first.clients == second.clients == 35

    def study_ids(folder):
        lines = (folder / "clients.csv").read_text().splitlines()[1:]
        return {line.split(",")[0] for line in lines}

    assert not study_ids(tmp_path / "a") & study_ids(tmp_path / "b")


def test_parquet_and_csv_hold_the_same_rows(tmp_path, clinic):
    export_research(clinic, tmp_path / "out", formats=["csv", "parquet"], date_mode="year")
    for table in ("clients", "episodes", "administrations", "answers"):
        csv_rows = (tmp_path / "out" / f"{table}.csv").read_text().splitlines()[1:]
        assert pq.read_table(tmp_path / "out" / f"{table}.parquet").num_rows == len(csv_rows)


def test_small_cells_are_suppressed_in_the_aggregate(tmp_path, clinic):
    export_research(clinic, tmp_path / "out", formats=["csv"])
    lines = (tmp_path / "out" / "aggregate_clients_by_gender_age.csv").read_text().splitlines()
    cells = [cell for line in lines[1:] for cell in line.split(",")[1:]]
    for cell in cells:
        assert cell == "suppressed" or int(cell) == 0 or int(cell) >= 11, cell


def test_manifest_records_the_parameters_and_the_export_is_audited(tmp_path, clinic):
    export_research(clinic, tmp_path / "out", formats=["parquet"], date_mode="year", via="cli")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["parameters"]["date_mode"] == "year"
    assert manifest["parameters"]["formats"] == ["parquet"]
    assert manifest["rows"]["clients"] == 35
    event = AuditEvent.objects.filter(action="research.export").get()
    assert event.detail == {
        "format": "parquet", "method": "year", "count": 35,
        "rows": manifest["rows"]["administrations"], "via": "cli",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"formats": ["xlsx"]}, "formats"), ({"date_mode": "month"}, "date mode")],
)
def test_bad_parameters(tmp_path, clinic, kwargs, message):
    with pytest.raises(ResearchExportError, match=message):
        export_research(clinic, tmp_path / "out", **kwargs)


def test_refuses_a_folder_that_is_not_empty(tmp_path, clinic):
    (tmp_path / "old.csv").write_text("x")
    with pytest.raises(ResearchExportError, match="not empty"):
        export_research(clinic, tmp_path)


def test_command(tmp_path, clinic):
    out = io.StringIO()
    call_command(
        "export", "research", "--out", str(tmp_path / "out"), "--org", "synthetic",
        "--format", "csv", "--year-only", stdout=out,
    )  # fmt: skip
    assert "exported 35 consented client(s)" in out.getvalue()
    with pytest.raises(CommandError, match="not empty"):
        call_command("export", "research", "--out", str(tmp_path / "out"), "--org", "synthetic")
