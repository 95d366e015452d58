"""The registry: shipped plus clinic definitions, newest versions, duplicates refused."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from rapport.instruments import DefinitionError, Registry, builtin_definitions_dir, load_registry
from rapport.instruments.registry import parse_reliable_change, version_key

DOCS_EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def clinic_copy_of_phq9(folder: Path, version: str) -> Path:
    document = yaml.safe_load((builtin_definitions_dir() / "phq9.yaml").read_text("utf-8"))
    document["version"] = version
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"phq9_v{version}.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def test_newest_version_wins_and_older_ones_stay_reachable(tmp_path: Path) -> None:
    clinic_copy_of_phq9(tmp_path / "clinic", "10")
    clinic_copy_of_phq9(tmp_path / "clinic", "3")

    registry = load_registry([tmp_path / "clinic"])

    assert registry["phq9"].version == "10"
    assert registry.get("phq9", version="1").version == "1"
    assert registry.get("phq9", version=3).version == "3"
    assert registry.get("phq9", version="7") is None
    assert [item.version for item in registry.versions("phq9")] == ["1", "2", "3", "10"]
    assert len(registry) == 5
    assert len(registry.all_versions()) == 14


def test_a_single_path_is_accepted(tmp_path: Path) -> None:
    clinic_copy_of_phq9(tmp_path, "3")

    assert load_registry(str(tmp_path))["phq9"].version == "3"


def test_duplicates_across_directories_name_both_files(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    shutil.copy(builtin_definitions_dir() / "gad7.yaml", clinic / "my_gad7.yaml")

    with pytest.raises(DefinitionError) as caught:
        load_registry([clinic])

    message = str(caught.value)
    assert "my_gad7.yaml" in message
    assert str(builtin_definitions_dir() / "gad7.yaml") in message


def test_two_instruments_may_not_share_a_critical_item(tmp_path: Path) -> None:
    # Alerts name a critical answer by its item ("critical:phq9_9"), and who is told
    # follows the instrument; an item id that is critical in two instruments would be
    # ambiguous, so the clinic's definition is refused with the reason.
    document = yaml.safe_load((builtin_definitions_dir() / "phq9.yaml").read_text("utf-8"))
    document["id"], document["version"] = "my_mood_scale", "1"
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    (clinic / "mood.yaml").write_text(yaml.safe_dump(document, allow_unicode=True), "utf-8")

    with pytest.raises(DefinitionError) as caught:
        load_registry([clinic])

    message = str(caught.value)
    assert "mood.yaml" in message and "critical_items" in message
    assert "'phq9_9' is also a critical item of instrument 'phq9'" in message


def test_unknown_instrument(registry) -> None:
    with pytest.raises(KeyError, match=r"unknown instrument 'phq10'.*known: gad7, phq9"):
        registry["phq10"]
    assert registry.get("phq10") is None
    assert "phq10" not in registry
    assert registry.versions("phq10") == ()


def test_iteration_yields_ids(registry) -> None:
    assert list(registry) == sorted(registry)
    assert all(registry[instrument_id].id == instrument_id for instrument_id in registry)


def test_empty_registry() -> None:
    with pytest.raises(KeyError, match="known: none"):
        Registry([])["phq9"]


def test_version_ordering() -> None:
    versions = ["1.10", "2", "1.2", "10", "1", "2-beta"]

    assert sorted(versions, key=version_key) == ["1", "1.2", "1.10", "2", "2-beta", "10"]


def test_documented_example_loads_as_a_clinic_folder() -> None:
    registry = load_registry([DOCS_EXAMPLES])
    example = registry["example_wai_sr"]

    assert len(example.items) == 12
    assert {s.id: s.item_ids for s in example.subscales} == {
        "task": ("wai_1", "wai_2", "wai_10", "wai_12"),
        "bond": ("wai_3", "wai_5", "wai_7", "wai_9"),
        "goal": ("wai_4", "wai_6", "wai_8", "wai_11"),
    }
    assert example.score_range == (12, 60)
    assert example.audience == "supervisors"
    result = example.score({f"wai_{number}": 4 for number in range(1, 13)})
    assert result.total == 48
    assert result.subscales == {"task": 16, "bond": 16, "goal": 16}


def test_a_clinic_replaces_a_placeholder_reliable_change_in_every_version(registry) -> None:
    local = registry.with_reliable_change({"rapport_trust": 0.7}, "clinic estimate 2026")

    for version in local.versions("rapport_trust"):
        assert version.reliable_change == 0.7
        assert version.reliable_change_source == "clinic estimate 2026"
    assert local["phq9"] is registry["phq9"]
    assert round(registry["rapport_trust"].reliable_change, 3) == 0.868  # the original


@pytest.mark.parametrize(
    ("thresholds", "problem"),
    [
        ({"rapport_trsut": 0.7}, "unknown instrument(s) rapport_trsut"),
        ({"rapport_trust": 0}, "must be positive"),
        ({"rapport_trust": float("nan")}, "must be positive"),
    ],
)
def test_bad_reliable_change_values_are_refused(registry, thresholds, problem) -> None:
    with pytest.raises(ValueError, match=re.escape(problem)):
        registry.with_reliable_change(thresholds, "clinic")


def test_reliable_change_setting_is_parsed() -> None:
    assert parse_reliable_change(" rapport_trust = 0.7 ,rapport_alliance=5") == {
        "rapport_trust": 0.7,
        "rapport_alliance": 5.0,
    }
    assert parse_reliable_change("") == {}
    for text in ("rapport_trust", "rapport_trust=", "=3", "rapport_trust=-1", "x=seven"):
        with pytest.raises(ValueError, match="is not instrument_id=positive number"):
            parse_reliable_change(text)
    with pytest.raises(ValueError, match="given twice"):
        parse_reliable_change("x=1,x=2")
