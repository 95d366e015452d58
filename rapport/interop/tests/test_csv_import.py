"""CSV import: full problem report, dry run, all-or-nothing, idempotent re-import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from rapport.clinic.models import Administration, Episode, Session
from rapport.insights.models import EpisodeSummary, StaleEpisodeSummary
from rapport.instruments import load_registry
from rapport.interop.csv_import import (
    COLUMNS,
    PROBLEM_KINDS,
    CsvImport,
    ImportRefused,
    Problem,
)
from rapport.security.models import AuditEvent
from rapport.testing import make_episode

pytestmark = pytest.mark.django_db
REGISTRY = load_registry()
HEADER = "record_number,therapist,episode_start,session_number,session_date,instrument,answers"
TEMPLATE = Path(__file__).resolve().parents[3] / "docs" / "import-template.csv"


def write(tmp_path: Path, *lines: str, header: str = HEADER) -> Path:
    path = tmp_path / "results.csv"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def good_rows(clinics) -> list[str]:
    record, therapist = clinics.owner_client.record_number, clinics.owner.username
    return [
        f'{record},{therapist},2026-01-05,3,2026-01-26,phq9,"0,1,2,1,0,0,1,2,0"',
        f'{record},{therapist},2026-01-05,3,2026-01-26,gad7,"1,1,1,1,1,1,1"',
        f'{record},{therapist},2026-01-05,4,2026-02-02,phq9,"0,0,1,,0,0,1,0,0"',
        f'{record},{therapist},2025-06-02,1,2025-06-02T09:30:00+00:00,phq9,"3,3,3,3,3,3,3,3,1"',
    ]


def counts() -> tuple[int, int, int, int]:
    return (
        Episode.objects.count(),
        Session.objects.count(),
        Administration.objects.count(),
        AuditEvent.objects.count(),
    )


def importer(path: Path, clinics, **options) -> CsvImport:
    return CsvImport(path, clinics.organisation, REGISTRY, **options)


def test_a_clean_file_imports_with_scores(tmp_path, clinics):
    path = write(tmp_path, *good_rows(clinics))
    assert list(importer(path, clinics).problems()) == []
    result = importer(path, clinics).run()
    assert (result.rows, result.created, result.unchanged) == (4, 4, 0)
    assert (result.created_episodes, result.created_sessions) == (1, 3)
    phq9 = Administration.objects.get(session__number=3, instrument_id="phq9")
    assert phq9.total == 7 and phq9.status == "completed"
    assert phq9.answers["phq9_3"] == 2
    prorated = Administration.objects.get(session__number=4, instrument_id="phq9")
    assert prorated.missing == ["phq9_4"]
    new_episode = Episode.objects.get(started_on="2025-06-02")
    assert new_episode.therapist == clinics.owner and new_episode.client == clinics.owner_client
    assert AuditEvent.objects.filter(action="import.csv").get().detail["count"] == 4


def test_a_blank_risk_item_is_flagged_and_a_prorated_total_marked(tmp_path, clinics):
    record, therapist = clinics.owner_client.record_number, clinics.owner.username
    path = write(
        tmp_path,
        # Nine answers (the scored items) or ten (with the functioning question) both read.
        f'{record},{therapist},2026-01-05,3,2026-01-26,phq9,"1,1,1,1,1,1,1,1,"',
        f'{record},{therapist},2026-01-05,4,2026-02-02,phq9,"1,1,1,1,1,1,1,1,0,2"',
    )

    importer(path, clinics).run()

    blank, answered = Administration.objects.filter(instrument_id="phq9").order_by(
        "session__number"
    )
    assert (blank.instrument_version, blank.total, blank.total_is_estimated) == ("2", 9, True)
    assert blank.flags == ["unanswered:phq9_9"]
    assert (answered.total, answered.total_is_estimated, answered.flags) == (8, False, [])
    assert answered.answers["phq9_difficulty"] == 2


def test_the_import_summarises_what_it_wrote_for_the_insights(tmp_path, clinics):
    importer(write(tmp_path, *good_rows(clinics)), clinics).run()
    assert not StaleEpisodeSummary.objects.exists()
    summarised = EpisodeSummary.objects.filter(client_id=clinics.owner_client.pk)
    if connection.vendor == "postgresql":
        assert summarised.filter(instrument_id="phq9").exists()
    else:
        assert not summarised.exists()  # SQLite: the insights read the administrations


def test_importing_the_same_file_twice_adds_nothing(tmp_path, clinics):
    path = write(tmp_path, *good_rows(clinics))
    importer(path, clinics).run()
    before = counts()
    again = importer(path, clinics).run()
    assert (again.created, again.unchanged) == (0, 4)
    assert counts()[:3] == before[:3]


def test_the_same_key_with_other_answers_is_a_conflict(tmp_path, clinics):
    importer(write(tmp_path, *good_rows(clinics)), clinics).run()
    changed = good_rows(clinics)[0].replace('"0,1,2,1,0,0,1,2,0"', '"3,1,2,1,0,0,1,2,0"')
    problems = list(importer(write(tmp_path, changed), clinics).problems())
    assert [(p.row, p.column, p.kind) for p in problems] == [(2, "answers", "conflict")]


def malformed_rows(clinics) -> list[str]:
    record, therapist = clinics.owner_client.record_number, clinics.owner.username
    ok = f'{record},{therapist},2026-01-05,3,2026-01-26,phq9,"0,1,2,1,0,0,1,2,0"'
    return [
        ok,  # row 2: fine
        f'R-NOBODY,{therapist},2026-01-05,3,2026-01-26,phq9,"0,0,0,0,0,0,0,0,0"',  # 3
        f'{record},{therapist},2026-01-05,3,2026-01-26,phq99,"0,0"',  # 4
        f'{record},{therapist},2026-02-30,3,2026-01-26,gad7,"0,0,0,0,0,0,0"',  # 5
        f'{record},{therapist},2026-01-05,5,2026-01-26,gad7,"0,0,0,9,0,0,0"',  # 6
        f'{record},{therapist},2026-01-05,6,2026-02-09,gad7,"0,0,0"',  # 7
        ok.replace(",3,2026-01-26,", ",3,2026-01-26,"),  # 8: duplicate of row 2
        f'{record},nobody,2026-01-05,7,2026-02-16,gad7,"0,0,0,0,0,0,0"',  # 9
        f'{record},{therapist},2026-01-05,x,2026-02-16,gad7,"0,0,0,0,0,0,0"',  # 10
        f'{record},{therapist},2026-01-05,8,2025-12-01,gad7,"0,0,0,0,0,0,0"',  # 11
        f'{record},{therapist},2030-01-05,1,2030-01-06,gad7,"0,0,0,0,0,0,0"',  # 12
        f'{record},{therapist},2026-01-05,9,2026-02-23,gad7,"0,a,0,0,0,0,0"',  # 13
        f',{therapist},2026-01-05,9,2026-02-23,phq9,"0,0,0,0,0,0,0,0,0"',  # 14
        f'{record},{therapist},2026-01-05,1,2026-01-20,phq9,"0,0,0,0,0,0,0,0,0"',  # 15
        f'{record},{clinics.colleague.username},2026-01-05,10,2026-03-02,gad7,"0,0,0,0,0,0,0"',
        f'{record},{therapist},2026-01-05,11,2026-03-09,gad7,"0,0,0,0,0,0,0",surplus',  # 17
    ]


EXPECTED_PROBLEMS = {
    (3, "record_number", "unknown_client"),
    (4, "instrument", "unknown_instrument"),
    (5, "episode_start", "invalid_date"),
    (6, "answers", "invalid_answer"),
    (7, "answers", "wrong_answer_count"),
    (8, "instrument", "duplicate_in_file"),
    (9, "therapist", "unknown_therapist"),
    (10, "session_number", "invalid_session_number"),
    (11, "session_date", "session_before_episode"),
    (12, "episode_start", "future_date"),
    (12, "session_date", "future_date"),
    (13, "answers", "invalid_answer"),
    (14, "record_number", "missing_value"),
    (15, "session_date", "session_date_mismatch"),
    (16, "therapist", "therapist_mismatch"),
    (17, "", "extra_fields"),
}


def test_a_malformed_file_gets_a_complete_report_and_changes_nothing(tmp_path, clinics):
    path = write(tmp_path, *malformed_rows(clinics))
    before = counts()
    problems = list(importer(path, clinics, batch_size=4).problems())
    assert {(p.row, p.column, p.kind) for p in problems} == EXPECTED_PROBLEMS
    assert len(problems) == len(EXPECTED_PROBLEMS)
    assert len({p.kind for p in problems}) >= 10
    assert {p.kind for p in problems} <= set(PROBLEM_KINDS)
    assert all(p.message for p in problems)
    with pytest.raises(ImportRefused) as refused:
        importer(path, clinics).run()
    assert refused.value.count == len(EXPECTED_PROBLEMS)
    assert counts() == before


def test_header_problems_stop_before_the_rows(tmp_path, clinics):
    path = write(tmp_path, "x,y", header="record_number,therapist,colour")
    problems = list(importer(path, clinics).problems())
    kinds = {(p.column, p.kind) for p in problems}
    assert ("episode_start", "missing_column") in kinds and ("colour", "unknown_column") in kinds
    assert {p.row for p in problems} == {1}


def test_an_empty_file_is_reported(tmp_path, clinics):
    path = tmp_path / "empty.csv"
    path.write_text("", encoding="utf-8")
    assert [p.kind for p in importer(path, clinics).problems()] == ["empty_file"]


def test_a_crash_in_the_middle_leaves_nothing_half_imported(tmp_path, clinics, monkeypatch):
    path = write(tmp_path, *good_rows(clinics))
    real_write = CsvImport._write_batch
    batches = []

    def write_then_crash(self, rows, plan, result):
        real_write(self, rows, plan, result)
        batches.append(len(rows))
        if len(batches) == 2:
            raise RuntimeError("simulated crash after the second batch")

    monkeypatch.setattr(CsvImport, "_write_batch", write_then_crash)
    before = counts()
    with pytest.raises(RuntimeError, match="simulated crash"):
        importer(path, clinics, batch_size=1).run()
    assert batches == [1, 1]  # two rows had been written inside the transaction
    assert counts() == before


def test_the_template_has_every_column_and_imports_once_its_clients_exist(clinics):
    header = TEMPLATE.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert tuple(header) == COLUMNS
    make_episode(clinics.owner, record_number="R000123")
    clinics.owner.username = "t.rivera"
    clinics.owner.save()
    assert list(importer(TEMPLATE, clinics).problems()) == []


# --- the command --------------------------------------------------------------------


def run_command(*args: str) -> str:
    out = io.StringIO()
    call_command("import", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_command_dry_run_lists_problems_and_changes_nothing(tmp_path, clinics):
    path = write(tmp_path, *malformed_rows(clinics))
    report = tmp_path / "problems.csv"
    before = counts()
    out = io.StringIO()
    with pytest.raises(CommandError, match=f"{len(EXPECTED_PROBLEMS)} problem"):
        call_command(
            "import", "csv", str(path), "--dry-run", "--report", str(report),
            "--org", clinics.organisation.slug, "--no-progress", stdout=out,
        )  # fmt: skip
    assert "row 3, column record_number: unknown_client" in out.getvalue()
    assert len(report.read_text().splitlines()) == len(EXPECTED_PROBLEMS) + 1
    assert counts() == before


def test_command_imports_and_reimports(tmp_path, clinics):
    path = write(tmp_path, *good_rows(clinics))
    slug = clinics.organisation.slug
    assert "dry run: 4 row(s), no problems" in run_command(
        "csv", str(path), "--dry-run", "--org", slug
    )
    assert "imported 4 administration(s)" in run_command("csv", str(path), "--org", slug)
    assert "imported 0 administration(s) from 4 row(s); 4 already present" in run_command(
        "csv", str(path), "--org", slug
    )


def test_command_needs_the_organisation_when_there_are_several(tmp_path, clinics):
    with pytest.raises(CommandError, match="--org"):
        run_command("csv", str(write(tmp_path, *good_rows(clinics))))


def test_problem_is_a_plain_value():
    assert Problem(2, "answers", "conflict", "x") == Problem(2, "answers", "conflict", "x")


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Auckland"])
def test_dates_before_1900_are_reported_not_imported(tmp_path, clinics, settings, zone):
    settings.TIME_ZONE = zone
    record, therapist = clinics.owner_client.record_number, clinics.owner.username
    path = write(
        tmp_path,
        f'{record},{therapist},0001-01-01,1,0001-01-01,gad7,"0,0,0,0,0,0,0"',
        f'{record},{therapist},2026-01-05,7,0001-01-01T00:00:00,gad7,"0,0,0,0,0,0,0"',
    )
    problems = list(importer(path, clinics).problems())
    assert {(p.row, p.column, p.kind) for p in problems} == {
        (2, "episode_start", "date_out_of_range"),
        (2, "session_date", "date_out_of_range"),
        (3, "session_date", "date_out_of_range"),
    }
    assert all("between 1900-01-01 and 2100-12-31" in p.message for p in problems)
