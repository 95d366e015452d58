"""Hand-built trajectories stored in the database, for the workspace's Django tests."""

from __future__ import annotations

import pytest

from rapport.clinic.models import Episode, SessionStatus
from rapport.core.instruments import instruments
from rapport.testing import add_answers, add_session, login_verified, make_episode, make_two_clinics


def answers_for(instrument_id: str, total: float, **overrides: int) -> dict[str, int]:
    """Answers that score exactly ``total`` (integers; mean-scored: every item the same)."""
    instrument = instruments()[instrument_id]
    items = [item for item in instrument.items if item.scored]
    if instrument.scoring == "mean":
        scored = [int(total)] * len(items)
    else:
        base, extra = divmod(int(total), len(items))
        scored = [base + (1 if index < extra else 0) for index in range(len(items))]
    answers = {
        item.id: (item.min_value + item.max_value - value) if item.reverse else value
        for item, value in zip(items, scored, strict=True)
    }
    answers.update(overrides)
    assert instrument.score(answers).total == total or overrides, (instrument_id, total)
    return answers


def build_trajectory(
    therapist,
    record_number: str,
    *,
    trust=(),
    alliance=(),
    phq9=(),
    statuses=(),
    unsafe_at: int | None = None,
) -> Episode:
    """An episode whose sessions 1..n carry the given totals (None: no check-in)."""
    episode = make_episode(therapist, record_number=record_number)
    n = max(len(trust), len(alliance), len(phq9), len(statuses))
    for index in range(n):
        number = index + 1
        status = statuses[index] if index < len(statuses) else SessionStatus.ATTENDED
        session = add_session(episode, number, status)
        for instrument_id, series in (
            ("rapport_trust", trust),
            ("rapport_alliance", alliance),
            ("phq9", phq9),
        ):
            if index < len(series) and series[index] is not None:
                overrides = {"phq9_9": 1} if instrument_id == "phq9" and unsafe_at == number else {}
                total = series[index]
                add_answers(
                    session,
                    instruments()[instrument_id],
                    answers_for(instrument_id, total, **overrides),
                )
    return episode


@pytest.fixture
def trajectory():
    return build_trajectory


@pytest.fixture
def clinics():
    """Two clinics with the usual personas (rapport.testing.make_two_clinics)."""
    return make_two_clinics()


@pytest.fixture
def therapist_client(client, clinics):
    """A test client signed in (with MFA) as the treating therapist."""
    login_verified(client, clinics.owner)
    return client
