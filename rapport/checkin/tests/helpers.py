"""Answers that complete the default test plan's check-in (trust, alliance, PHQ-9)."""

from __future__ import annotations

from rapport.core.instruments import instruments


def full_answers(
    phq9_item9: int = 0, *, instrument_ids=("rapport_trust", "rapport_alliance", "phq9", "gad7")
) -> dict[str, str]:
    """Form data answering every item of every instrument in ``instrument_ids``."""
    data: dict[str, str] = {}
    for instrument_id in instrument_ids:
        instrument = instruments()[instrument_id]
        for item in instrument.items:
            value = item.options[-1].value if instrument.construct != "outcome" else 0
            data[f"{instrument_id}.{item.id}"] = str(int(value))
    data["phq9.phq9_9"] = str(phq9_item9)
    return data
