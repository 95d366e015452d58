"""Coarse, analysable demographic categories (self-reported by the client).

These codes are what equity analysis groups by. Free-text self-descriptions belong to the
client's identity record instead, so that they can be protected like names.
Race and ethnicity follow the minimum categories of the US OMB standard (SPD 15, 2024
revision) with multiple selection allowed; "prefer not to say" is an explicit answer, not
a missing value.

The labels are English message ids (``gettext_noop``): stored as they are (insight tables
group by them, research releases match rows by them) and translated where staff read them.
"""

from __future__ import annotations

from django.utils.translation import gettext_noop

RACE_ETHNICITY = {
    "american_indian_alaska_native": gettext_noop("American Indian or Alaska Native"),
    "asian": gettext_noop("Asian"),
    "black": gettext_noop("Black or African American"),
    "hispanic_latino": gettext_noop("Hispanic or Latino"),
    "middle_eastern_north_african": gettext_noop("Middle Eastern or North African"),
    "native_hawaiian_pacific_islander": gettext_noop("Native Hawaiian or Pacific Islander"),
    "white": gettext_noop("White"),
    "another": gettext_noop("Another race or ethnicity"),
    "prefer_not_to_say": gettext_noop("Prefer not to say"),
}

GENDER = {
    "woman": gettext_noop("Woman"),
    "man": gettext_noop("Man"),
    "non_binary": gettext_noop("Non-binary"),
    "another": gettext_noop("Another gender"),
    "prefer_not_to_say": gettext_noop("Prefer not to say"),
}

LANGUAGE = {
    "en": gettext_noop("English"),
    "es": gettext_noop("Spanish"),
    "other": gettext_noop("Another language"),
}

AGE_BANDS = ("18-25", "26-35", "36-45", "46-55", "56-65", "66+")


def age_band(age: int) -> str:
    """Return the reporting band for an adult's age in whole years."""
    if age < 18:
        raise ValueError(f"age {age} is below 18; Rapport's bands cover adults only")
    for band in AGE_BANDS[:-1]:
        upper = int(band.split("-")[1])
        if age <= upper:
            return band
    return AGE_BANDS[-1]


def validate_race_ethnicity(codes: list[str]) -> list[str]:
    """Check a multi-select answer and return it sorted and de-duplicated.

    "prefer_not_to_say" cannot be combined with another category.
    """
    unknown = sorted(set(codes) - set(RACE_ETHNICITY))
    if unknown:
        raise ValueError(f"unknown race/ethnicity code(s): {', '.join(unknown)}")
    chosen = sorted(set(codes))
    if "prefer_not_to_say" in chosen and len(chosen) > 1:
        raise ValueError("'prefer_not_to_say' cannot be combined with another category")
    return chosen
