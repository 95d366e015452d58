"""/healthz, /readyz and ``rapport status``: public, data-free, honest about the worker."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import rapport
from rapport.operations.heartbeat import record_heartbeat
from rapport.security import crypto

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_field_keys(monkeypatch):
    monkeypatch.setenv("RAPPORT_FIELD_KEYS", "not-a-key")
    crypto.reset_key_cache()
    yield
    monkeypatch.undo()
    crypto.reset_key_cache()


def test_healthz_answers_without_the_database(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert len(queries) == 0


def test_readyz_is_ready_with_a_fresh_heartbeat(client):
    record_heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True,
        "checks": {"database": "ok", "migrations": "ok", "keys": "ok", "worker": "ok"},
    }
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


def test_readyz_is_not_ready_without_a_worker(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["worker"] == "failing"


def test_readyz_is_not_ready_when_the_heartbeat_is_stale(client, settings):
    settings.WORKER_HEARTBEAT_MAX_AGE_MINUTES = 5
    record_heartbeat(timezone.now() - datetime.timedelta(minutes=6))
    assert client.get("/readyz").status_code == 503
    record_heartbeat(timezone.now() - datetime.timedelta(minutes=4))
    assert client.get("/readyz").status_code == 200


def test_readyz_is_not_ready_when_the_keys_do_not_load(client, broken_field_keys):
    record_heartbeat()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["keys"] == "failing"
    # The verdict only: no variable names, file paths or error text for the public.
    assert b"RAPPORT_" not in response.content and b"/" not in response.content


def test_readyz_and_healthz_leak_no_version_or_data(client, due_invitation):
    record_heartbeat()
    for url in ("/healthz", "/readyz"):
        response = client.get(url)
        body = response.content.decode()
        assert rapport.__version__ not in body
        assert due_invitation.owner_client.record_number not in body
        assert "Server" not in response.headers or rapport.__version__ not in response["Server"]


def test_status_prints_each_check_and_succeeds_when_ready(capsys):
    record_heartbeat()
    call_command("status")
    out = capsys.readouterr().out
    for name in ("database", "migrations", "keys", "worker"):
        assert name in out
    assert out.rstrip().endswith("ready")


def test_status_fails_with_exit_code_1_and_says_why(capsys):
    with pytest.raises(CommandError) as raised:
        call_command("status")
    assert raised.value.returncode == 1
    assert "no worker has run: start `rapport worker`" in capsys.readouterr().out


def test_status_names_the_key_problem(capsys, broken_field_keys):
    record_heartbeat()
    with pytest.raises(CommandError):
        call_command("status")
    assert "RAPPORT_FIELD_KEYS" in capsys.readouterr().out
