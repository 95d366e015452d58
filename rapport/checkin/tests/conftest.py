import pytest

from rapport.testing import issue_checkin_link, make_two_clinics


@pytest.fixture
def clinics(db):
    return make_two_clinics()


@pytest.fixture
def issued(clinics):
    """A link for the owner's client: trust, alliance and PHQ-9 (and GAD-7 on session 5...)."""
    return issue_checkin_link(clinics.owner_episode)
