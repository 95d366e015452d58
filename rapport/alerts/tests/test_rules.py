"""Every flag rule on hand-built trajectories (numbers chosen so the expected flag is obvious)."""

import re
from dataclasses import replace

import pytest

from rapport.alerts import (
    ClientHistory,
    FlagKind,
    FlagRules,
    FlagRulesError,
    Score,
    SessionRecord,
    evaluate,
)
from rapport.alerts.wording import number_as_read
from rapport.instruments import load_registry
from rapport.psychometrics.trajectories import ExpectedResponseModel


@pytest.fixture(scope="module")
def instruments():
    return load_registry()


def scores(*totals, start=1):
    return [Score(session=start + i, total=t) for i, t in enumerate(totals)]


def attended(n):
    return [SessionRecord(i, "attended") for i in range(1, n + 1)]


STABLE = ClientHistory(
    scores={
        "rapport_trust": scores(5.9, 6.0, 6.1, 6.0),
        "rapport_alliance": scores(33, 34, 35, 34),
        "phq9": scores(15, 13, 11, 9),
    },
    sessions=attended(4),
    checkins=["completed"] * 4,
)
PHQ9_ITEM9_SEVERAL_DAYS = Score(
    4, 12, flags=("critical:phq9_9",), answers={f"phq9_{i}": 1 for i in range(1, 10)}
)


def kinds(flags):
    return [flag.kind for flag in flags]


def test_a_stable_client_raises_no_flag(instruments):
    assert evaluate(STABLE, instruments) == []


def test_critical_item_raises_a_safety_flag_that_names_item_and_answer(instruments):
    history = ClientHistory(scores={"phq9": [*scores(14, 13, 12), PHQ9_ITEM9_SEVERAL_DAYS]})
    [flag] = evaluate(history, instruments)
    assert flag.kind is FlagKind.SAFETY
    assert flag.message.startswith("PHQ-9 item 9 answered \u201cSeveral days\u201d at session 4")


def test_an_earlier_critical_answer_no_longer_raises_a_new_flag(instruments):
    earlier = Score(1, 14, flags=("critical:phq9_9",), answers={"phq9_9": 1})
    history = ClientHistory(scores={"phq9": [earlier, *scores(12, 11, start=2)]})
    assert evaluate(history, instruments) == []


def test_an_unanswered_risk_item_is_a_safety_flag_in_plain_words(instruments):
    blank_nine = Score(4, 12, flags=("unanswered:phq9_9",), answers={"phq9_1": 3})
    history = ClientHistory(scores={"phq9": [*scores(14, 13, 12), blank_nine]})

    [flag] = evaluate(history, instruments)

    assert flag.kind is FlagKind.SAFETY
    assert flag.message == (
        "PHQ-9 item 9 (\u201cThoughts that you would be better off dead or of hurting yourself "
        "in some way\u201d) was not answered at session 4, so the risk it asks about is unknown: "
        "ask about it before or at the next contact."
    )
    assert "item" not in flag.details  # not an answer to acknowledge: the next one clears it


def test_a_risk_item_answered_later_clears_the_unanswered_flag(instruments):
    blank_nine = Score(1, 12, flags=("unanswered:phq9_9",))
    history = ClientHistory(scores={"phq9": [blank_nine, *scores(12, 11, start=2)]})

    assert evaluate(history, instruments) == []


def test_alliance_drop_from_recent_level_is_a_rupture(instruments):
    # Recent level (33+34+35)/3 = 34; 27 is 7 below it, more than the 6-point rule.
    history = ClientHistory(scores={"rapport_alliance": scores(33, 34, 35, 27)})
    [flag] = evaluate(history, instruments)
    assert flag.kind is FlagKind.RUPTURE
    assert flag.message == (
        "Alliance fell from 35 to 27 since the last session; the previous 3 scores averaged 34."
    )


def test_alliance_drop_after_one_earlier_score_says_so_without_an_average(instruments):
    # The demo's "the previous 1 scores averaged 32": one earlier score is the last one.
    history = ClientHistory(scores={"rapport_alliance": scores(32, 22)})
    [flag] = evaluate(history, instruments)
    assert flag.message == "Alliance fell from 32 to 22 since the last session."


def test_alliance_below_its_recent_level_after_a_rise_does_not_say_it_fell(instruments):
    # Recent level (40+40+28)/3 = 36; 30 is 6 below it, but up from 28 at the last session.
    history = ClientHistory(scores={"rapport_alliance": scores(40, 40, 28, 30)})
    [flag] = evaluate(history, instruments)
    assert flag.kind is FlagKind.RUPTURE
    assert flag.message == (
        "Alliance is 30 at session 4, 6 below its recent level of 36 (mean of the "
        "previous 3 scores)."
    )


def test_alliance_drop_smaller_than_the_rule_is_not_a_rupture(instruments):
    history = ClientHistory(scores={"rapport_alliance": scores(33, 34, 35, 31)})
    assert evaluate(history, instruments) == []


def test_alliance_in_the_clinical_range_is_a_rupture_even_without_a_drop(instruments):
    cutoff = instruments["rapport_alliance"].clinical_cutoff
    history = ClientHistory(scores={"rapport_alliance": scores(cutoff, cutoff)})
    [flag] = evaluate(history, instruments)
    assert flag.kind is FlagKind.RUPTURE
    assert "low range" in flag.message


def test_trust_falling_by_a_point_is_flagged_with_both_numbers(instruments):
    history = ClientHistory(scores={"rapport_trust": scores(6.0, 6.1, 4.3)})
    [flag] = evaluate(history, instruments)
    assert flag.kind is FlagKind.TRUST
    assert flag.message == "Trust fell from 6.1 to 4.3 since the last session."


def test_low_but_steady_trust_is_flagged_as_low(instruments):
    history = ClientHistory(scores={"rapport_trust": scores(3.9, 3.8)})
    [flag] = evaluate(history, instruments)
    assert flag.message == "Trust is low: 3.8 on the 1\u20137 scale at session 2."


def test_missing_scores_are_ignored_not_read_as_zero(instruments):
    history = ClientHistory(
        scores={"rapport_trust": [Score(1, 6.0), Score(2, None)], "rapport_alliance": scores(30)}
    )
    assert evaluate(history, instruments) == []


FALLBACK = ExpectedResponseModel(
    method="reliable_change",
    levels={"lower": 0.1, "median": 0.5, "upper": 0.9},
    coefficients={},
    rci=6.0,
    n_episodes=0,
    n_observations=0,
    n_excluded=0,
    max_session=None,
    intake_range=None,
    score_range=(0.0, 27.0),
    fit_date="2026-01-01T00:00:00+00:00",
)


def test_worsening_outcome_is_not_on_track(instruments):
    # PHQ-9 from 12 to 18: six points worse = the reliable-change fallback's boundary.
    history = ClientHistory(scores={"phq9": scores(12, 14, 18)})
    [flag] = evaluate(history, instruments, expected_response=FALLBACK)
    assert flag.kind is FlagKind.NOT_ON_TRACK
    # The boundary itself is off track, so the limit is one to stay below.
    assert flag.message == (
        "PHQ-9 is 18 at session 3; from an intake of 12 clients are expected to be below 18 by now."
    )


def test_a_limit_reads_to_one_decimal_and_never_contradicts_the_score(instruments):
    # A limit of 23.96 (intake 12 plus a reliable change of 11.96): a score of 24 is over
    # it. Read to a whole number, "at most 24" beside "is 24" contradicted itself.
    model = replace(FALLBACK, rci=11.96)
    history = ClientHistory(scores={"phq9": scores(12, 14, 24)})
    [flag] = evaluate(history, instruments, expected_response=model)
    assert flag.message == (
        "PHQ-9 is 24 at session 3; from an intake of 12 clients are expected to be below 24 by now."
    )
    history = ClientHistory(scores={"phq9": scores(12, 14, 23)})
    model = replace(FALLBACK, rci=10.25)
    [flag] = evaluate(history, instruments, expected_response=model)
    assert "expected to be below 22.3 by now" in flag.message


def test_not_on_track_needs_the_expected_response_model(instruments):
    history = ClientHistory(scores={"phq9": scores(12, 14, 18)})
    assert evaluate(history, instruments) == []


def test_missed_sessions_in_a_row_are_an_engagement_flag(instruments):
    sessions = [*attended(3), SessionRecord(4, "missed"), SessionRecord(5, "cancelled")]
    [flag] = evaluate(ClientHistory(sessions=sessions), instruments)
    assert flag.kind is FlagKind.ENGAGEMENT
    assert flag.message == "Missed or cancelled the last 2 sessions."


def test_the_upcoming_scheduled_session_does_not_hide_missed_ones(instruments):
    sessions = [*attended(2), SessionRecord(3, "missed"), SessionRecord(4, "missed")]
    sessions.append(SessionRecord(5, "scheduled"))
    assert kinds(evaluate(ClientHistory(sessions=sessions), instruments)) == [FlagKind.ENGAGEMENT]


def test_unanswered_check_ins_are_an_engagement_flag(instruments):
    history = ClientHistory(checkins=["completed", "expired", "declined"])
    [flag] = evaluate(history, instruments)
    assert "last 2 check-ins were not completed" in flag.message


def test_engagement_rules_of_one_speak_of_one_session_and_one_check_in(instruments):
    one = FlagRules.from_mapping(
        {"schema": "rapport-flag-rules/1", "engagement": {"missed_in_a_row": 1}}
    )
    missed = ClientHistory(sessions=[*attended(2), SessionRecord(3, "missed")])
    [flag] = evaluate(missed, instruments, one)
    assert flag.message == "Missed or cancelled the last session."
    one = FlagRules.from_mapping(
        {"schema": "rapport-flag-rules/1", "engagement": {"unanswered_in_a_row": 1}}
    )
    [flag] = evaluate(ClientHistory(checkins=["completed", "expired"]), instruments, one)
    assert flag.message == "The last check-in was not completed (expired or declined)."


def test_unsafe_and_ruptured_client_lists_safety_first(instruments):
    history = ClientHistory(
        scores={
            "rapport_alliance": scores(33, 34, 35, 20),
            "rapport_trust": scores(6.0, 6.1, 4.0),
            "phq9": [*scores(14, 13, 12), PHQ9_ITEM9_SEVERAL_DAYS],
        },
        sessions=[*attended(2), SessionRecord(3, "missed"), SessionRecord(4, "missed")],
    )
    assert kinds(evaluate(history, instruments)) == [
        FlagKind.SAFETY,
        FlagKind.RUPTURE,
        FlagKind.TRUST,
        FlagKind.ENGAGEMENT,
    ]


def test_rules_can_be_switched_off_and_retuned(instruments):
    history = ClientHistory(scores={"rapport_trust": scores(6.0, 5.4)})
    assert evaluate(history, instruments) == []
    sensitive = FlagRules.from_mapping({"schema": "rapport-flag-rules/1", "trust": {"drop": 0.5}})
    assert kinds(evaluate(history, instruments, sensitive)) == [FlagKind.TRUST]
    off = FlagRules.from_mapping(
        {"schema": "rapport-flag-rules/1", "trust": {"enabled": False, "drop": 0.5}}
    )
    assert evaluate(history, instruments, off) == []


def test_shipped_defaults_match_the_documented_values():
    rules = FlagRules.from_file()
    assert (rules.rupture_drop, rules.rupture_window, rules.trust_low, rules.trust_drop) == (
        6.0,
        3,
        4.0,
        1.0,
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "schema: must be 'rapport-flag-rules/1'"),
        ({"trust": {"low": "four"}}, "trust.low: must be float, got 'four'"),
        ({"trust": {"colour": 1}}, "trust.colour: unknown setting"),
        ({"rupture": {"window": 0}}, "rupture.window: must be positive"),
        ({"rupture": {"window": 2.5}}, "rupture.window: must be int"),
        ({"engagement": []}, "engagement: must be a mapping"),
    ],
)
def test_bad_rule_files_are_refused_with_the_setting_named(data, message):
    if data:
        data = {"schema": "rapport-flag-rules/1", **data}
    with pytest.raises(FlagRulesError, match=re.escape(message)):
        FlagRules.from_mapping(data, source="rules.yaml")


def test_unreadable_rule_file_names_the_file(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("schema: [unclosed", encoding="utf-8")
    with pytest.raises(FlagRulesError, match=r"rules\.yaml: cannot be read as YAML"):
        FlagRules.from_file(path)


@pytest.mark.parametrize(
    ("value", "read"),
    [
        (6.25, "6.3"),
        (0.15, "0.2"),
        (6.24, "6.2"),
        (6.0, "6"),
        (23.96, "24"),
        (-0.25, "-0.3"),
        (-0.04, "0"),
        (12.5, "12.5"),
        (27, "27"),
    ],
)
def test_numbers_read_to_one_decimal_halves_up(value, read):
    assert number_as_read(value) == read
