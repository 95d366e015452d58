import datetime

import numpy as np
import pandas as pd
import pytest

from rapport.clinic.plans import PlanRow
from rapport.instruments import load_registry
from rapport.synth import SynthConfig, generate_clients, generate_staff

ANCHOR = datetime.date(2026, 11, 2)


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def generate(registry, **fields):
    config = SynthConfig(**({"seed": 7, "n_clients": 120, "anchor": ANCHOR} | fields))
    chunks = list(generate_clients(config, registry))
    return {
        name: pd.concat([getattr(chunk, name) for chunk in chunks], ignore_index=True)
        for name in ("clients", "episodes", "sessions", "administrations")
    }


def test_same_seed_gives_the_same_clinic(registry):
    first, second = generate(registry), generate(registry)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


def test_another_seed_gives_another_clinic(registry):
    first, other = generate(registry), generate(registry, seed=8)
    assert not first["administrations"]["answers"].equals(other["administrations"]["answers"])


def test_chunking_keeps_every_client_once(registry):
    clinic = generate(registry, n_clients=45, chunk_size=10)
    assert clinic["clients"]["client_key"].tolist() == list(range(45))
    assert clinic["clients"]["record_number"].is_unique


def test_staff_have_supervisors_and_every_role(registry):
    staff = generate_staff(SynthConfig(seed=1, n_clients=300, anchor=ANCHOR, n_therapists=10))
    roles = [member.role for member in staff]
    assert roles.count("therapist") == 10
    assert roles.count("supervisor") == 2
    assert {"clinic_admin", "researcher"} <= set(roles)
    assert all(m.supervisor for m in staff if m.role == "therapist")


def test_the_clinic_has_the_cases_the_analyses_need(registry):
    clinic = generate(registry, n_clients=400)
    episodes, sessions, clients = clinic["episodes"], clinic["sessions"], clinic["clients"]
    assert {"active", "closed"} == set(episodes["status"])
    assert (episodes["end_reason"] == "dropout").sum() > 10
    assert {"attended", "missed", "cancelled", "scheduled"} <= set(sessions["status"])
    race = clients["race_ethnicity"]
    assert (race.map(len) > 1).sum() > 5, "multi-select answers"
    assert (race.map(lambda r: r == ["prefer_not_to_say"])).sum() > 3
    assert (clients["preferred_language"] == "es").sum() > 10
    answers = clinic["administrations"].query("status == 'completed'")["answers"]
    assert answers.map(lambda a: None in a.values()).sum() > 10, "some items missing"
    closed = episodes[episodes["status"] == "closed"]
    assert (closed["ended_on"] >= closed["started_on"]).all()


def test_a_sessions_questionnaires_are_answered_or_missed_together(registry):
    # One check-in link per session: a client does not complete the trust questionnaire
    # while the PHQ-9 of the same check-in expires.
    done = generate(registry)["administrations"].query("status != 'pending'")
    per_session = done.groupby(["episode_key", "number"])
    assert (per_session["status"].nunique() == 1).all()
    completed = done.query("status == 'completed'").groupby(["episode_key", "number"])
    assert (completed["completed_at"].nunique() == 1).all()
    assert {"completed", "expired", "declined"} <= set(done["status"])


def test_every_generated_answer_is_valid_for_its_instrument(registry):
    administrations = generate(registry)["administrations"]
    for row in administrations.query("status == 'completed'").itertuples():
        registry[row.instrument_id].score(row.answers)  # raises on an invalid answer


def trust_items(registry, administrations: pd.DataFrame) -> pd.DataFrame:
    """First completed trust check-in of each client, reverse-keyed items re-keyed."""
    instrument = registry["rapport_trust"]
    first = (
        administrations.query("instrument_id == 'rapport_trust' and status == 'completed'")
        .sort_values("number")
        .groupby("episode_key")
        .head(1)
    )
    items = pd.DataFrame(list(first["answers"]), dtype=float)
    for item in instrument.items:
        if item.reverse:
            items[item.id] = item.min_value + item.max_value - items[item.id]
    return items.dropna()


def cronbach_alpha(items: pd.DataFrame) -> float:
    # Textbook formula on complete cases, written out here independently of
    # rapport.psychometrics: alpha = k/(k-1) * (1 - sum(item variances) / var(total)).
    k = items.shape[1]
    return k / (k - 1) * (1 - items.var(ddof=1).sum() / items.sum(axis=1).var(ddof=1))


def test_trust_answers_are_as_reliable_as_published_scales(registry):
    items = trust_items(registry, generate(registry, seed=2026, n_clients=300)["administrations"])
    assert len(items) > 250
    assert 0.85 <= cronbach_alpha(items) <= 0.95


def test_the_planted_trust_gap_is_modest_and_in_the_planted_direction(registry):
    clinic = generate(registry, seed=11, n_clients=1500)
    trust = clinic["administrations"].query(
        "instrument_id == 'rapport_trust' and status == 'completed'"
    )
    totals = (
        trust.assign(total=[registry["rapport_trust"].score(a).total for a in trust["answers"]])
        .groupby("episode_key")["total"]
        .mean()
    )
    black = clinic["clients"].set_index("client_key")["race_ethnicity"].map(lambda r: "black" in r)
    gap = totals[black[totals.index]].mean() - totals[~black[totals.index]].mean()
    assert -0.6 < gap < -0.1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"seed": -1}, "seed"),
        ({"n_clients": 0}, "at least one client"),
        ({"n_therapists": 0}, "at least one therapist"),
    ],
)
def test_bad_configuration_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        SynthConfig(**({"seed": 1, "n_clients": 10, "anchor": ANCHOR} | fields))


def test_plan_with_an_unknown_instrument_is_refused(registry):
    config = SynthConfig(seed=1, n_clients=5, anchor=ANCHOR, plan=(PlanRow("wai_sr", 1),))
    with pytest.raises(ValueError, match="wai_sr"):
        list(generate_clients(config, registry))


def test_no_session_is_in_the_future_except_the_next_appointment(registry):
    sessions = generate(registry)["sessions"]
    anchor = pd.Timestamp(ANCHOR, tz="UTC") + pd.Timedelta(days=1)
    future = sessions[sessions["scheduled_at"] > anchor]
    assert set(future["status"]) <= {"scheduled"}
    assert np.all(
        sessions.groupby("episode_key")["number"].apply(
            lambda n: list(n) == list(range(1, len(n) + 1))
        )
    )


def test_active_clients_have_pending_and_overdue_check_ins_on_real_sessions(registry):
    clinic = generate(registry, n_clients=300)
    sessions, episodes = clinic["sessions"], clinic["episodes"]
    opened = sessions[sessions["checkin_open"]]
    active = set(episodes.loc[episodes["status"] == "active", "episode_key"])
    assert set(opened["episode_key"]) <= active
    anchor = pd.Timestamp(ANCHOR, tz="UTC")
    ahead = opened[opened["scheduled_at"] > anchor]
    passed = opened[opened["scheduled_at"] < anchor]
    assert len(ahead) > 20 and len(passed) > 5, "a mix of pending and overdue"
    assert set(ahead["status"]) == {"scheduled"}
    assert (ahead["scheduled_at"] < anchor + pd.Timedelta(days=3)).all()
    # Overdue: the client's last session so far, attended, not the intake.
    assert set(passed["status"]) == {"attended"}
    assert (passed["number"] > 1).all()
    last_past = sessions[sessions["status"] != "scheduled"].groupby("episode_key")["number"].max()
    assert (passed["number"].to_numpy() == last_past[passed["episode_key"]].to_numpy()).all()
    # An open check-in has no answers yet: its questionnaires are opened in the database.
    answered = clinic["administrations"].set_index(["episode_key", "number"]).index
    assert not answered.isin(pd.MultiIndex.from_frame(opened[["episode_key", "number"]])).any()
