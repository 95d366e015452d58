"""What the client is told about who sees their answers and results: every sentence.

Each screen, the thank-you page and the client's progress view take their statement
from here, and every statement is worded from the access layer's decisions
(:func:`rapport.security.access.relationship_answers_for_supervisors_only`, the same one
that hides these answers from the therapist on every staff channel), so what clients
read and what staff see cannot drift apart, in any language.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from rapport.clinic.models import Organisation
from rapport.instruments import Instrument
from rapport.security.access import (
    RELATIONSHIP_CONSTRUCTS,
    relationship_answers_for_supervisors_only,
)

# Who reads the answers of a whole check-in, for the thank-you page.
ALL_TO_THERAPIST = "therapist"
SOME_TO_THERAPIST = "some"
NONE_TO_THERAPIST = "none"


def audience_statement(instrument: Instrument, organisation: Organisation) -> str:
    """Plain words on who will read these answers, shown before the questions.

    Symptom questionnaires go to the therapist and their clinical supervisor.
    """
    if instrument.construct not in RELATIONSHIP_CONSTRUCTS:
        return _(
            "Your therapist and their clinical supervisor will see these answers. They are "
            "part of your care record."
        )
    if relationship_answers_for_supervisors_only(instrument, organisation):
        return _(
            "Who sees these answers: your therapist will not see your individual answers to "
            "these questions. Only clinical supervisors at the clinic will, to help improve "
            "your care. Please answer honestly."
        )
    return _(
        "Who sees these answers: your therapist and their clinical supervisor. Honest answers, "
        "including critical ones, help your therapist work better with you, and they will "
        "not affect your care."
    )


def thank_you_audience(submitted: Iterable[Instrument], organisation: Organisation) -> str:
    """Whether the therapist reads all, some or none of the questionnaires just submitted.

    The thank-you page words its last promise by this, from the same decision as each
    screen's statement, so it never says "your therapist will look at them" of answers
    that only supervisors read.
    """
    restricted = [
        relationship_answers_for_supervisors_only(instrument, organisation)
        for instrument in submitted
    ]
    if not any(restricted):
        return ALL_TO_THERAPIST
    return NONE_TO_THERAPIST if all(restricted) else SOME_TO_THERAPIST


def thank_you_statement(therapist_reads: str) -> str:
    """The thank-you page's sentence for :func:`thank_you_audience`'s answer."""
    if therapist_reads == NONE_TO_THERAPIST:
        return _(
            "Your answers have been received. Only clinical supervisors at the clinic will "
            "read them; your therapist will not see your individual answers."
        )
    if therapist_reads == SOME_TO_THERAPIST:
        return _(
            "Your answers have been received. Your therapist will look at some of them with "
            "you. As the pages said, your answers to the other questionnaires are read only by "
            "clinical supervisors at the clinic, not by your therapist."
        )
    if therapist_reads == ALL_TO_THERAPIST:
        return _("Your answers have been received. Your therapist will look at them with you.")
    raise ValueError(f"therapist_reads {therapist_reads!r} is not one of the audience answers")


def progress_statement(*, shows_relationship: bool) -> str:
    """Who else sees the results on the client's own progress view.

    The view shows relationship questionnaires only where the therapist reads them
    (:func:`rapport.security.access.may_show_in_client_progress`), so the same sentence
    holds for every result on it.
    """
    if shows_relationship:
        return _(
            "These are your own results. Your therapist and their clinical supervisor see the "
            "same results in your care record; nobody else's results are shown here."
        )
    return _(
        "These are your own results from the symptom questionnaires. Your therapist and "
        "their clinical supervisor see the same results in your care record; nobody else's "
        "results are shown here."
    )
