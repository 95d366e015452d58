"""The measurement plan a new clinic starts with (no Django import: the synthetic
generator uses it too).

Every session: the PHQ-9; from the second session on, every session: Rapport's trust,
alliance and openness check-ins, which ask about the last session (the check-in comes
before a session, and before the first there is none to rate:
:attr:`rapport.instruments.Instrument.first_session`); every fourth session: the GAD-7. A
clinic changes it per client on the plan page.
"""

from __future__ import annotations

from typing import NamedTuple


class PlanRow(NamedTuple):
    """One questionnaire of a plan: given every ``every_n_sessions`` sessions from
    session ``first_session``."""

    instrument_id: str
    every_n_sessions: int
    first_session: int = 1


# In the order the check-in shows them.
STANDARD_PLAN: tuple[PlanRow, ...] = (
    PlanRow("rapport_trust", 1, first_session=2),
    PlanRow("rapport_alliance", 1, first_session=2),
    PlanRow("rapport_openness", 1, first_session=2),
    PlanRow("phq9", 1),
    PlanRow("gad7", 4),
)
STANDARD_PLAN_NAME = "Standard check-in plan"
