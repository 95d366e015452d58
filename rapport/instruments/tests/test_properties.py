"""Property-based checks: accepted answers always score; invalid answers are always refused."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.instruments import AnswerError, Instrument, load_registry

INSTRUMENTS = list(load_registry().values())
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def accepted_answers(draw: st.DrawFn, instrument: Instrument) -> dict[str, float | int | None]:
    """Any subset of items, each either an offered value or None (int or float spelling)."""
    answers: dict[str, float | int | None] = {}
    for item in instrument.items:
        choice = draw(st.sampled_from(["absent", "none", "int", "float"]))
        if choice == "absent":
            continue
        value = draw(st.sampled_from(item.option_values))
        answers[item.id] = {"none": None, "int": value, "float": float(value)}[choice]
    return answers


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda instrument: instrument.id)
@SETTINGS
@given(data=st.data())
def test_scoring_never_raises_on_accepted_answers(instrument: Instrument, data) -> None:
    answers = data.draw(accepted_answers(instrument))

    result = instrument.score(answers)

    # Only scored items can be missing; an unscored item left blank changes nothing.
    scored = instrument.scored_item_ids
    n_missing = sum(answers.get(item_id) is None for item_id in scored)
    assert result.missing == [i for i in scored if answers.get(i) is None]
    assert result.answered == len(scored) - n_missing
    assert result.estimated == (result.total is not None and n_missing > 0)
    if n_missing > instrument.missing_rule.max_missing:
        assert result.total is None and result.band is None
    else:
        low, high = instrument.score_range
        assert low <= result.total <= high
        # Bands cover the whole range, so every total has exactly one band.
        assert [band.label for band in instrument.bands if band.contains(result.total)] == [
            result.band
        ]
    assert set(result.subscales) == {subscale.id for subscale in instrument.subscales}


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda instrument: instrument.id)
@SETTINGS
@given(data=st.data())
def test_values_outside_the_options_are_refused(instrument: Instrument, data) -> None:
    answers = data.draw(accepted_answers(instrument))
    item = data.draw(st.sampled_from(instrument.items))
    offered = {float(value) for value in item.option_values}
    bad = data.draw(
        st.one_of(st.integers(-1000, 1000), st.floats(allow_nan=False, allow_infinity=True)).filter(
            lambda value: float(value) not in offered
        )
    )
    answers[item.id] = bad

    with pytest.raises(AnswerError, match=item.id):
        instrument.score(answers)


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda instrument: instrument.id)
@SETTINGS
@given(data=st.data())
def test_unknown_items_are_refused(instrument: Instrument, data) -> None:
    answers = data.draw(accepted_answers(instrument))
    stranger = data.draw(st.text(min_size=1).filter(lambda key: key not in instrument.item_ids))
    answers[stranger] = instrument.items[0].option_values[0]

    with pytest.raises(AnswerError, match="unknown item"):
        instrument.score(answers)


@pytest.mark.parametrize("instrument", INSTRUMENTS, ids=lambda instrument: instrument.id)
@SETTINGS
@given(data=st.data())
def test_answer_lists_round_trip(instrument: Instrument, data) -> None:
    answers = data.draw(accepted_answers(instrument))
    fields = ["" if answers.get(i) is None else f"{answers[i]:g}" for i in instrument.item_ids]

    parsed = instrument.parse_answer_list(",".join(fields))

    for item_id in instrument.item_ids:
        expected = answers.get(item_id)
        assert (
            (parsed[item_id] is None)
            if expected is None
            else math.isclose(parsed[item_id], expected)
        )
    assert instrument.score(parsed) == instrument.score(answers)
