"""The measurement plan a new clinic starts with (no Django import: the synthetic
generator uses it too).

Every session: Rapport's trust, alliance and openness check-ins and the PHQ-9; every
fourth session: the GAD-7. A clinic changes it per client on the plan page.
"""

from __future__ import annotations

# (instrument id, every n sessions), in the order the check-in shows them.
STANDARD_PLAN: tuple[tuple[str, int], ...] = (
    ("rapport_trust", 1),
    ("rapport_alliance", 1),
    ("rapport_openness", 1),
    ("phq9", 1),
    ("gad7", 4),
)
STANDARD_PLAN_NAME = "Standard check-in plan"
