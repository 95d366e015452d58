"""The loader refuses broken definitions with a message naming file, field path and problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from rapport.instruments import DefinitionError, load_definition, load_directory

Mutation = Callable[[dict[str, Any]], None]
SUBSCALE = {"id": "pair", "title": {"en": "Pair", "es": "Par"}, "items": ["tiny_1", "tiny_2"]}


def scale_item(**scale: Any) -> dict[str, Any]:
    """A 0-2 scale item like ``tiny_1``, with ``scale`` fields overridden."""
    return {
        "id": "tiny_1",
        "text": {"en": "One", "es": "Uno"},
        "scale": {"min": 0, "max": 2} | scale,
    }


def rejected(write_definition, name: str, document: Any) -> DefinitionError:
    path = write_definition(name, document)
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)
    return caught.value


def assert_names(error: DefinitionError, file_name: str, field: str, problem: str) -> None:
    message = str(error)
    assert file_name in message
    assert f": {field}: " in message
    assert problem in message
    assert error.field == field


def test_minimal_definition_is_valid(write_definition, minimal_definition) -> None:
    instrument = load_definition(write_definition("tiny.yaml", minimal_definition))

    assert instrument.item_ids == ("tiny_1", "tiny_2", "tiny_3")
    assert instrument.score_range == (0, 6)


def drop(*path: str | int) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


def put(value: Any, *path: str | int) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        target: Any = document
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


CASES: dict[str, tuple[Mutation, str, str]] = {
    "missing_required_field": (drop("title"), "title", "is required"),
    "missing_notice": (drop("notice"), "notice", "is required"),
    "bad_schema_marker": (put("rapport-instrument/9", "schema"), "schema", "must be"),
    "unknown_top_level_field": (put(3, "clinical_cutof"), "clinical_cutof", "not a known field"),
    "typo_in_nested_field": (
        put({"max_mising": 1}, "scoring", "missing"),
        "scoring.missing.max_mising",
        "not a known field",
    ),
    "unknown_item_in_subscale": (
        put(["tiny_1", "tiny_9"], "subscales", 0, "items"),
        "subscales[0].items[1]",
        "unknown item 'tiny_9'",
    ),
    "item_twice_in_subscale": (
        put(["tiny_1", "tiny_1"], "subscales", 0, "items"),
        "subscales[0].items[1]",
        "listed twice",
    ),
    "overlapping_bands": (put(2, "bands", 1, "lower"), "bands[1].lower", "overlaps band 'low'"),
    "gapped_bands": (put(4, "bands", 1, "lower"), "bands[1].lower", "leaves a gap"),
    "bands_not_reaching_the_maximum": (put(5, "bands", 2, "upper"), "bands[2].upper", "highest"),
    "bands_not_starting_at_the_minimum": (put(1, "bands", 0, "lower"), "bands[0].lower", "lowest"),
    "duplicate_item_ids": (put("tiny_1", "items", 1, "id"), "items[1].id", "duplicate item id"),
    "non_numeric_option_value": (
        put("often", "option_sets", "three", 1, "value"),
        "option_sets.three[1].value",
        "must be a number",
    ),
    "boolean_option_value": (
        put([{"value": True, "label": {"en": "Yes", "es": "Sí"}}], "items", 0, "options"),
        "items[0].options[0].value",
        "must be a number",
    ),
    "duplicate_option_value": (
        put(0, "option_sets", "three", 1, "value"),
        "option_sets.three[1].value",
        "duplicate option value",
    ),
    "item_text_missing_a_language": (
        put({"en": "Three"}, "items", 2, "text"),
        "items[2].text.es",
        "is missing",
    ),
    "option_label_missing_a_language": (
        put({"en": "Never"}, "option_sets", "three", 0, "label"),
        "option_sets.three[0].label.es",
        "is missing",
    ),
    "undeclared_language": (
        put({"en": "T", "es": "T", "fr": "T"}, "title"),
        "title.fr",
        "not one of the declared languages",
    ),
    "critical_condition_on_unknown_item": (
        put("tiny_9", "critical_items", 0, "item"),
        "critical_items[0].item",
        "unknown item 'tiny_9'",
    ),
    "critical_condition_with_bad_operator": (
        put("=>", "critical_items", 0, "operator"),
        "critical_items[0].operator",
        "must be one of",
    ),
    "reverse_keyed_item_without_numeric_range": (
        put([{"value": 1, "label": {"en": "Only", "es": "Única"}}], "items", 1, "options"),
        "items[1].reverse",
        "numeric range",
    ),
    "unknown_scoring_method": (
        put("median", "scoring", "method"),
        "scoring.method",
        "must be one of",
    ),
    "sum_with_missing_items_but_no_proration": (
        put(False, "scoring", "missing", "prorate"),
        "scoring.missing.prorate",
        "must be true",
    ),
    "max_missing_too_large": (
        put(3, "scoring", "missing", "max_missing"),
        "scoring.missing.max_missing",
        "from 0 to 2",
    ),
    "scaled_without_factor": (
        put("scaled", "scoring", "method"),
        "scoring.scale_factor",
        "required",
    ),
    "factor_without_scaled_method": (
        put(10, "scoring", "scale_factor"),
        "scoring.scale_factor",
        "only allowed",
    ),
    "cutoff_outside_range": (
        put(99, "clinical_cutoff"),
        "clinical_cutoff",
        "outside the score range",
    ),
    "unknown_option_set": (
        put("four", "items", 0, "options"),
        "items[0].options",
        "unknown option set",
    ),
    "options_and_scale_together": (
        put({"min": 0, "max": 2}, "items", 0, "scale"),
        "items[0]",
        "exactly one of",
    ),
    "reliable_change_both_forms": (
        put({"value": 2, "reliability": 0.8, "sd": 3}, "reliable_change"),
        "reliable_change",
        "either 'value'",
    ),
    "reliability_out_of_range": (
        put({"reliability": 1.2, "sd": 3}, "reliable_change"),
        "reliable_change.reliability",
        "between 0 and 1",
    ),
    "unknown_construct": (put("mood", "construct"), "construct", "must be one of"),
    "unknown_audience": (put("everyone", "audience"), "audience", "must be one of"),
    "bad_identifier": (put("PHQ-9", "id"), "id", "lower-case"),
    "items_not_a_list": (put({"id": "x"}, "items"), "items", "must be a list"),
    "no_items": (put([], "items"), "items", "at least one item"),
    "no_options": (put([], "items", 0, "options"), "items[0].options", "at least one option"),
    "scale_step_not_positive": (
        put(scale_item(step=0), "items", 0),
        "items[0].scale.step",
        "must be positive",
    ),
    "scale_max_not_above_min": (
        put(scale_item(max=0), "items", 0),
        "items[0].scale.max",
        "greater than min",
    ),
    "scale_step_not_dividing_range": (
        put(scale_item(step=0.7), "items", 0),
        "items[0].scale.step",
        "equal steps",
    ),
    "scale_anchor_off_the_scale": (
        put(scale_item(anchors=[{"value": 5, "label": {"en": "Five", "es": "Cinco"}}]), "items", 0),
        "items[0].scale.anchors",
        "not a point on the scale",
    ),
    "negative_scale_factor": (
        put({"method": "scaled", "scale_factor": -1}, "scoring"),
        "scoring.scale_factor",
        "must be positive",
    ),
    "duplicate_subscale_id": (
        put([SUBSCALE, SUBSCALE], "subscales"),
        "subscales[1].id",
        "duplicate subscale id",
    ),
    "empty_subscale": (put([], "subscales", 0, "items"), "subscales[0].items", "at least one"),
    "duplicate_band_label": (put("low", "bands", 1, "label"), "bands[1].label", "duplicate band"),
    "band_upper_below_lower": (put(2, "bands", 1, "upper"), "bands[1].upper", "below lower"),
    "reliable_change_not_positive": (
        put({"value": 0}, "reliable_change"),
        "reliable_change.value",
        "must be positive",
    ),
    "reliable_change_without_sd": (
        put({"reliability": 0.8}, "reliable_change"),
        "reliable_change.sd",
        "is required",
    ),
    "reliable_change_with_zero_sd": (
        put({"reliability": 0.8, "sd": 0}, "reliable_change"),
        "reliable_change.sd",
        "must be positive",
    ),
    "boolean_version": (put(True, "version"), "version", "non-empty text"),
    "no_languages": (put([], "languages"), "languages", "at least one language"),
    "bad_language_tag": (put(["EN", "es"], "languages"), "languages[0]", "language tag"),
    "duplicate_language": (put(["en", "en"], "languages"), "languages[1]", "duplicate language"),
    "empty_text": (put({"en": " ", "es": "T"}, "title"), "title.en", "non-empty text"),
    "validated_not_boolean": (put("yes", "validated"), "validated", "true or false"),
    "loinc_not_text": (put(44249, "loinc"), "loinc", "non-empty text"),
    "reference_n_not_whole": (put({"n": 2.5}, "reference"), "reference.n", "whole number"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_broken_definition_is_rejected(write_definition, minimal_definition, case: str) -> None:
    mutate, field, problem = CASES[case]
    mutate(minimal_definition)

    error = rejected(write_definition, f"{case}.yaml", minimal_definition)

    assert_names(error, f"{case}.yaml", field, problem)


def test_bad_yaml_syntax(write_definition) -> None:
    error = rejected(
        write_definition, "syntax.yaml", "schema: rapport-instrument/1\nid: [unclosed\n"
    )

    assert_names(error, "syntax.yaml", "<yaml>", "invalid YAML at line")


def test_duplicate_yaml_key(write_definition) -> None:
    error = rejected(write_definition, "twice.yaml", "id: one\nid: two\n")

    assert_names(error, "twice.yaml", "<yaml>", "duplicate key 'id'")


def test_unhashable_yaml_key(write_definition) -> None:
    error = rejected(write_definition, "complex_key.yaml", "? [a, b]\n: 1\n")

    assert_names(error, "complex_key.yaml", "<yaml>", "unhashable")


def test_field_names_must_be_text(write_definition) -> None:
    error = rejected(write_definition, "numeric_key.yaml", "1: one\n")

    assert_names(error, "numeric_key.yaml", "<document>", "field names must be text")


def test_document_that_is_not_a_mapping(write_definition) -> None:
    error = rejected(write_definition, "list.yaml", "- just\n- a list\n")

    assert_names(error, "list.yaml", "<document>", "must be a mapping")


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(DefinitionError) as caught:
        load_definition(path)

    assert_names(caught.value, "absent.yaml", "<file>", "cannot be read")


def test_duplicate_id_and_version_in_a_directory_names_both_files(
    write_definition, minimal_definition
) -> None:
    first = write_definition("clinic/a_first.yaml", minimal_definition)
    second = write_definition("clinic/b_second.yaml", minimal_definition)

    with pytest.raises(DefinitionError) as caught:
        load_directory(first.parent)

    message = str(caught.value)
    assert "a_first.yaml" in message and "b_second.yaml" in message
    assert "'tiny' version '1'" in message
    assert second.name in caught.value.file


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="is not a readable directory"):
        load_directory(tmp_path / "nowhere")


def test_directory_ignores_other_files(write_definition, minimal_definition) -> None:
    path = write_definition("mixed/tiny.yml", minimal_definition)
    (path.parent / "README.txt").write_text("not a definition")

    assert [instrument.id for instrument in load_directory(path.parent)] == ["tiny"]


def unscored(document: dict[str, Any], position: int) -> None:
    document["items"][position]["scored"] = False


def test_an_unscored_item_leaves_the_range_the_missing_rule_and_the_subscales(
    write_definition, minimal_definition
) -> None:
    minimal_definition["subscales"] = []
    minimal_definition["bands"] = []
    minimal_definition["scoring"]["missing"]["max_missing"] = 0
    del minimal_definition["scoring"]["missing"]["prorate"]
    unscored(minimal_definition, 0)

    instrument = load_definition(write_definition("tiny.yaml", minimal_definition))

    assert instrument.scored_item_ids == ("tiny_2", "tiny_3")
    assert instrument.score_range == (0, 4)
    result = instrument.score({"tiny_2": 2, "tiny_3": 1})  # tiny_1 blank: not "missing"
    assert (result.total, result.missing, result.estimated) == (1, [], False)


@pytest.mark.parametrize(
    ("position", "field", "problem"),
    [
        (0, "subscales[0].items[0]", "item 'tiny_1' is unscored"),
        (1, "items[1].reverse", "an unscored item cannot be reverse-keyed"),
    ],
)
def test_unscored_items_cannot_be_keyed_or_in_subscales(
    write_definition, minimal_definition, position, field, problem
) -> None:
    unscored(minimal_definition, position)

    error = rejected(write_definition, "tiny.yaml", minimal_definition)

    assert_names(error, "tiny.yaml", field, problem)


def test_at_least_one_item_is_scored(write_definition, minimal_definition) -> None:
    minimal_definition.pop("subscales")
    for position, item in enumerate(minimal_definition["items"]):
        item.pop("reverse", None)
        unscored(minimal_definition, position)

    error = rejected(write_definition, "tiny.yaml", minimal_definition)

    assert_names(error, "tiny.yaml", "items", "must include at least one scored item")


def test_max_missing_counts_scored_items_only(write_definition, minimal_definition) -> None:
    minimal_definition.pop("subscales")
    unscored(minimal_definition, 0)
    minimal_definition["scoring"]["missing"]["max_missing"] = 2

    error = rejected(write_definition, "tiny.yaml", minimal_definition)

    assert_names(error, "tiny.yaml", "scoring.missing.max_missing", "from 0 to 1")


def test_flag_if_missing_must_be_a_boolean(write_definition, minimal_definition) -> None:
    minimal_definition["critical_items"][0]["flag_if_missing"] = "yes"

    error = rejected(write_definition, "tiny.yaml", minimal_definition)

    assert_names(error, "tiny.yaml", "critical_items[0].flag_if_missing", "true or false")
