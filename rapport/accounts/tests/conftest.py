"""Fixtures shared by the accounts app's tests."""

from __future__ import annotations

import pytest
from django.test import Client

from rapport.testing import login_verified, make_two_clinics


@pytest.fixture
def clinics():
    """Two clinics with the usual personas (rapport.testing.make_two_clinics)."""
    return make_two_clinics()


@pytest.fixture
def admin_client(clinics):
    """The clinic admin, signed in (with MFA) on a browser of their own, so a test can use
    ``client`` for the member of staff at the same time."""
    client = Client()
    login_verified(client, clinics.clinic_admin)
    return client
