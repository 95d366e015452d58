"""The optional option-level ``loinc`` field (LOINC answer codes ``LA...``) for the FHIR mapping."""

from __future__ import annotations

import pytest

from rapport.instruments import DefinitionError, load_definition

# LOINC answer list LL358-3, shared by the PHQ-9 and GAD-7 items. Sources:
# HL7/personal-health-record-format-ig,
# input/fsh/pghd/instance/Questionnaire-ScoredAssessment-GAD7.fsh (GAD-7 items) and
# medizininformatik-initiative/kerndatensatzmodul-proms,
# input/fsh/definitions/phq-9/mii-qst-pro-phq-9.fsh (PHQ-9 items, with ordinalValue 0-3).
LL358_3 = (("LA6568-5", 0), ("LA6569-3", 1), ("LA6570-1", 2), ("LA6571-9", 3))
# LOINC answer list LL359-1 of the unscored functioning question (69722-7); same sources.
LL359_1 = (("LA6572-7", 0), ("LA6573-5", 1), ("LA6575-0", 2), ("LA6574-3", 3))


@pytest.mark.parametrize("instrument_id", ["phq9", "gad7"])
def test_phq9_and_gad7_options_carry_ll358_3_answer_codes(registry, instrument_id) -> None:
    for item in registry[instrument_id].items:
        expected = LL358_3 if item.scored else LL359_1
        assert tuple((option.loinc, option.value) for option in item.options) == expected


def test_rapport_instruments_have_no_answer_codes(registry) -> None:
    for instrument_id in ("rapport_trust", "rapport_alliance", "rapport_openness"):
        for item in registry[instrument_id].items:
            assert all(option.loinc is None for option in item.options)


def test_option_loinc_is_optional_and_read_from_lists_and_anchors(
    minimal_definition, write_definition
) -> None:
    minimal_definition["option_sets"]["three"][0]["loinc"] = "LA0000-0"
    minimal_definition["items"][2] = {
        "id": "tiny_3",
        "text": {"en": "Three", "es": "Tres"},
        "scale": {
            "min": 0,
            "max": 2,
            "anchors": [{"value": 2.0, "loinc": "LA1111-1", "label": {"en": "Hi", "es": "Al"}}],
        },
    }
    instrument = load_definition(write_definition("tiny.yaml", minimal_definition))
    first_codes = [option.loinc for option in instrument.item("tiny_1").options]
    assert first_codes == ["LA0000-0", None, None]
    anchored = instrument.item("tiny_3").options[2]
    assert (anchored.value, anchored.loinc, anchored.label["en"]) == (2, "LA1111-1", "Hi")
    assert isinstance(anchored.value, int)  # the scale's own value, not the anchor's 2.0


def test_option_loinc_must_be_text(minimal_definition, write_definition) -> None:
    minimal_definition["option_sets"]["three"][1]["loinc"] = 6569
    with pytest.raises(DefinitionError, match=r"option_sets\.three\[1\]\.loinc: must be non-empty"):
        load_definition(write_definition("tiny.yaml", minimal_definition))
