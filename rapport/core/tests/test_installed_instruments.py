"""One list of installed instruments: the clinic's folders in ``RAPPORT_INSTRUMENTS_DIR``
are read the same way by the server, ``rapport synth``, ``rapport score`` and the FHIR
import (several folders separated by ``os.pathsep``, a missing one named)."""

from __future__ import annotations

import datetime
import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from rapport.clinic.models import Organisation
from rapport.core.instruments import load_installed_instruments
from rapport.instruments import DefinitionError
from rapport.instruments.cli import main as score_main
from rapport.interop.context import registry as interop_registry

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "wai_sr_placeholder.yaml"


@pytest.fixture
def two_folders(tmp_path: Path) -> str:
    """Two clinic folders, each with an instrument the other lacks, as the variable's value."""
    first, second = tmp_path / "licensed", tmp_path / "local"
    first.mkdir()
    second.mkdir()
    text = EXAMPLE.read_text(encoding="utf-8")
    (first / "wai.yaml").write_text(text, encoding="utf-8")
    (second / "own.yaml").write_text(
        text.replace("id: example_wai_sr", "id: clinic_own_scale"), encoding="utf-8"
    )
    return os.pathsep.join([str(first), str(second)])


def test_the_server_reads_every_folder_in_the_setting(settings, two_folders) -> None:
    settings.INSTRUMENTS_DIR = two_folders

    installed = load_installed_instruments()

    assert {"example_wai_sr", "clinic_own_scale", "phq9"} <= set(installed)


def test_the_imports_read_the_same_folders(settings, two_folders) -> None:
    settings.INSTRUMENTS_DIR = two_folders

    assert {"example_wai_sr", "clinic_own_scale"} <= set(interop_registry())


def test_rapport_score_reads_the_same_folders(monkeypatch, two_folders) -> None:
    monkeypatch.setenv("RAPPORT_INSTRUMENTS_DIR", two_folders)
    out = io.StringIO()

    status = score_main(
        ["clinic_own_scale", "--answers", ",".join(["5"] * 12), "--json"], stdout=out
    )

    assert status == 0
    assert json.loads(out.getvalue())["instrument"] == "clinic_own_scale"


def test_a_missing_folder_is_named_on_its_own(settings, two_folders, tmp_path) -> None:
    missing = tmp_path / "not-there"
    settings.INSTRUMENTS_DIR = os.pathsep.join([two_folders, str(missing)])

    with pytest.raises(DefinitionError) as raised:
        load_installed_instruments()

    assert raised.value.file == str(missing)
    assert "is not a readable directory" in str(raised.value)


@pytest.mark.django_db
def test_rapport_synth_reports_a_missing_folder_and_writes_nothing(settings, tmp_path) -> None:
    settings.INSTRUMENTS_DIR = str(tmp_path / "not-there")

    with pytest.raises(CommandError, match="not-there: <directory>"):
        call_command(
            "synth",
            seed=1,
            clients=5,
            org="nowhere",
            anchor=datetime.date(2026, 11, 2),
            no_progress=True,
        )

    assert not Organisation.objects.filter(slug="nowhere").exists()
