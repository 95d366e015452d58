"""The parts of a safety plan, in order, in Rapport's own words.

The structure follows the safety planning intervention (Stanley & Brown 2012, see
docs/safety.md): the client's warning signs, what they can do on their own, people and
places that help take the mind off things, people to ask for help, professional and
crisis contacts, and making the surroundings safer. The headings are written for Rapport,
in the client's voice, because the printed plan is the client's; the hints are for the
therapist filling it in. Headings are translated into the plan's language when printed.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

# The one section that is a list of people with a phone number rather than free text.
HELPERS = "helpers"


@dataclass(frozen=True)
class Section:
    field: str
    heading: Promise  # the client's words, printed in the plan's language
    hint: Promise  # for the therapist, on the edit page

    @property
    def is_people(self) -> bool:
        return self.field == HELPERS


SECTIONS = (
    Section(
        "warning_signs",
        gettext_lazy("Signs that a hard time is starting"),
        gettext_lazy(
            "Thoughts, feelings, situations or behaviour that tell the client a crisis may "
            "be building, in their words. One per line."
        ),
    ),
    Section(
        "coping_steps",
        gettext_lazy("What I can do on my own to get through it"),
        gettext_lazy("Things the client can do alone that have helped before. One per line."),
    ),
    Section(
        "distractions",
        gettext_lazy("People and places that take my mind off things"),
        gettext_lazy(
            "Company or places that help without having to talk about the crisis. One per line."
        ),
    ),
    Section(
        HELPERS,
        gettext_lazy("People I can ask for help"),
        gettext_lazy("People the client would ask for help, with a phone number."),
    ),
    Section(
        "professional_contacts",
        gettext_lazy("Professionals and crisis lines I can contact"),
        gettext_lazy(
            "The therapist, the clinic's duty line, a local crisis team; the clinic's crisis "
            "contacts are printed below the plan as well. One per line."
        ),
    ),
    Section(
        "safer_surroundings",
        gettext_lazy("Making my surroundings safer"),
        gettext_lazy(
            "Agreed steps that keep means of harm out of reach, and who helps with them. "
            "One per line."
        ),
    ),
)
TEXT_FIELDS = tuple(section.field for section in SECTIONS if not section.is_people)
