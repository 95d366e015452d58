"""Fixtures of the worker tests: a session due for an invitation, with an e-mail address."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from rapport.clinic.models import ClientIdentity
from rapport.testing import add_session, make_two_clinics

CLIENT_EMAIL = "worker-test-client@example.org"


@pytest.fixture
def due_invitation(tmp_path, settings):
    """Two clinics; the owner's client has a session in 10 hours and an e-mail address."""
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors.jsonl"
    clinics = make_two_clinics()
    session = add_session(clinics.owner_episode, 3, status="scheduled")
    session.scheduled_at = timezone.now() + datetime.timedelta(hours=10)
    session.save()
    ClientIdentity.objects.create(client=clinics.owner_client, email=CLIENT_EMAIL)
    return clinics
