import pytest

from rapport.testing import make_two_clinics


@pytest.fixture
def clinics(db):
    return make_two_clinics()
