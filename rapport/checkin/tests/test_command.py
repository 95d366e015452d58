"""rapport checkin create | send-due."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from rapport.checkin.models import CheckinLink
from rapport.checkin.tokens import token_hash
from rapport.testing import schedule_next_session

pytestmark = pytest.mark.django_db


def test_create_prints_a_working_link(client, clinics):
    schedule_next_session(clinics.owner_episode)
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "checkin",
        "create",
        clinics.owner_client.record_number,
        "--org",
        clinics.organisation.slug,
        stdout=out,
        stderr=err,
    )
    url = out.getvalue().strip()
    token = url.rstrip("/").rsplit("/", 1)[-1]
    assert CheckinLink.objects.get().token_hash == token_hash(token)
    assert client.get(url.replace("http://127.0.0.1:8000", "")).status_code == 200
    assert "session 3" in err.getvalue()


def test_create_for_an_unknown_client_fails_clearly(clinics):
    with pytest.raises(CommandError, match="no client with record number"):
        call_command("checkin", "create", "NOPE")
    with pytest.raises(CommandError, match="no organisation"):
        call_command("checkin", "create", "NOPE", "--org", "missing")


def test_send_due_reports(clinics):
    out = io.StringIO()
    call_command("checkin", "send-due", stdout=out)
    assert out.getvalue().startswith("scheduled 0, sent 0")
