import pytest

from rapport.checkin.tests.helpers import make_reachable
from rapport.clinic.models import ClientIdentity
from rapport.synth.names import FAMILY_NAMES, GIVEN_NAMES
from rapport.testing import issue_checkin_link, make_two_clinics


@pytest.fixture
def clinics(db):
    return make_two_clinics()


@pytest.fixture
def issued(clinics):
    """A link for the owner's client: trust, alliance and PHQ-9 (and GAD-7 on session 5...)."""
    return issue_checkin_link(clinics.owner_episode)


@pytest.fixture
def reachable(clinics):
    """:func:`make_reachable`: every step of a safety notice reaches someone."""
    return make_reachable(clinics)


@pytest.fixture
def reachable_live_clinic(live_server):
    """For the browser tests of the safety routes: :func:`make_reachable`, and the
    therapist's client with a synthetic name and no contact details of their own (so the
    only e-mails sent are safety notices)."""
    clinics = make_reachable(make_two_clinics())
    ClientIdentity.objects.create(
        client=clinics.owner_client, given_name=GIVEN_NAMES[25], family_name=FAMILY_NAMES[11]
    )
    return clinics
