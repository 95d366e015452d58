"""What the client is told about who reads their answers follows the access layer's rule.

Each questionnaire screen and the thank-you page (English and Spanish) must say what the
staff channels do: where relationship answers are for supervisors only, nothing may
promise that the therapist will look at them. Issue #15, point 16.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from rapport.checkin.audience import (
    ALL_TO_THERAPIST,
    NONE_TO_THERAPIST,
    SOME_TO_THERAPIST,
    audience_statement,
    thank_you_audience,
)
from rapport.checkin.tests.helpers import full_answers
from rapport.clinic.models import Organisation, TrustAnswersAudience
from rapport.core.instruments import instruments
from rapport.security.access import RELATIONSHIP_CONSTRUCTS

pytestmark = pytest.mark.django_db

THERAPIST_WILL_LOOK = {
    "en": "Your therapist will look at them with you.",
    "es": "Su terapeuta las revisará con usted.",
}
SUPERVISORS_ONLY_SOME = {
    "en": "read only by clinical supervisors at the clinic, not by your therapist",
    "es": "solo las leen los supervisores clínicos de la clínica, no su terapeuta",
}


def _relationship_instruments():
    return [i for i in instruments().values() if i.construct in RELATIONSHIP_CONSTRUCTS]


@pytest.mark.parametrize(
    ("clinic_audience", "instrument_audience"),
    list(itertools.product(TrustAnswersAudience.values, ("therapist", "supervisors"))),
)
def test_each_screen_says_the_therapist_will_not_see_restricted_answers(
    clinic_audience, instrument_audience
):
    organisation = Organisation(trust_answers_audience=clinic_audience)
    therapist_reads = clinic_audience == "therapist" and instrument_audience == "therapist"
    for shipped in _relationship_instruments():
        instrument = dataclasses.replace(shipped, audience=instrument_audience)
        statement = audience_statement(instrument, organisation)
        assert ("your therapist will not see" in statement) is (not therapist_reads)


@pytest.mark.parametrize(
    ("clinic_audience", "expected"),
    [("therapist", ALL_TO_THERAPIST), ("supervisors", SOME_TO_THERAPIST)],
)
def test_the_thank_you_audience_of_a_mixed_check_in(clinic_audience, expected):
    organisation = Organisation(trust_answers_audience=clinic_audience)
    due = [instruments()["rapport_trust"], instruments()["phq9"]]
    assert thank_you_audience(due, organisation) == expected


def test_a_check_in_of_restricted_answers_only_goes_to_no_therapist():
    organisation = Organisation(trust_answers_audience="supervisors")
    assert thank_you_audience(_relationship_instruments(), organisation) == NONE_TO_THERAPIST
    assert thank_you_audience([instruments()["phq9"]], organisation) == ALL_TO_THERAPIST


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("clinic_audience", TrustAnswersAudience.values)
def test_the_thank_you_page_promises_only_what_the_therapist_will_see(
    client, clinics, issued, language, clinic_audience
):
    clinics.organisation.trust_answers_audience = clinic_audience
    clinics.organisation.save()
    response = client.post(f"{issued.path}submit/", {**full_answers(), "lang": language})
    page = response.content.decode()
    assert response.status_code == 200 and f'<html lang="{language}">' in page
    if clinic_audience == "therapist":
        assert THERAPIST_WILL_LOOK[language] in page
        assert SUPERVISORS_ONLY_SOME[language] not in page
    else:
        assert THERAPIST_WILL_LOOK[language] not in page
        assert SUPERVISORS_ONLY_SOME[language] in page
