"""No client data in any log line, plain or JSON, even at DEBUG; JSON lines are JSON."""

from __future__ import annotations

import copy
import datetime
import io
import json
import logging.config
import re

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from rapport.checkin.models import Alert, SafetyNotice
from rapport.checkin.tests.helpers import full_answers
from rapport.clinic.models import ClientIdentity
from rapport.operations.runner import run_once
from rapport.testing import add_session, make_two_clinics

# The worker run closes connections between jobs: only a transactional database survives.
pytestmark = pytest.mark.django_db(transaction=True)

# Synthetic, and distinctive enough that a match in a log line is never a coincidence.
GIVEN_NAME, FAMILY_NAME = "Quillon", "Marchetti-Obuya"
EMAIL, PHONE = "quillon.marchetti@example.org", "+44 7700 900481"
COMMENT = "Slept badly since the argument with my sister Ottoline"


@pytest.fixture(params=["plain", "json"])
def log_lines(request):
    """Everything the console handler writes at DEBUG, in the given format, as lines.

    The handler keeps its production filters (token and search redaction); only its
    stream is swapped for a buffer.
    """
    stream = io.StringIO()
    config = copy.deepcopy(django_settings.LOGGING)
    config["handlers"]["console"]["stream"] = stream
    if request.param == "json":
        config["handlers"]["console"]["formatter"] = "json"
    config["root"]["level"] = "DEBUG"
    logging.config.dictConfig(config)
    try:
        yield request.param, lambda: stream.getvalue().splitlines()
    finally:
        logging.config.dictConfig(django_settings.LOGGING)


def test_a_day_at_the_clinic_logs_no_client_data(log_lines, client, settings, tmp_path):
    log_format, lines = log_lines
    settings.AUDIT_ANCHOR_FILE = tmp_path / "anchors.jsonl"  # the worker anchors the trail
    # RAPPORT_DEBUG=1 makes Django log every SQL statement with its values at DEBUG.
    settings.DEBUG = True
    clinics = make_two_clinics()
    clinics.owner.email = "owner@example.org"
    clinics.owner.save()
    ClientIdentity.objects.create(
        client=clinics.owner_client,
        given_name=GIVEN_NAME,
        family_name=FAMILY_NAME,
        email=EMAIL,
        phone=PHONE,
    )
    session = add_session(clinics.owner_episode, 3, status="scheduled")
    session.scheduled_at = timezone.now() + datetime.timedelta(hours=10)
    session.save()

    # The worker e-mails the invitation, with the client's link in it.
    run_once()
    assert [message.to for message in mail.outbox] == [[EMAIL]]
    token = re.search(r"/q/([A-Za-z0-9_-]{8,})/", mail.outbox[0].body).group(1)

    # The client answers the critical item and writes a comment: an alert, a safety notice.
    form = reverse("checkin-form", args=[token])
    response = client.post(f"{form}submit/", {**full_answers(phq9_item9=2), "comment": COMMENT})
    assert response.status_code == 200
    assert Alert.objects.filter(client=clinics.owner_client).exists()
    assert SafetyNotice.objects.get().status == "sent"
    # The used link again (refused, logged with its path), then a failed staff sign-in
    # by someone typing the client's e-mail address.
    client.post(f"{form}submit/", full_answers())
    client.get("/q/" + token + "/nothing-here/?q=" + FAMILY_NAME)
    response = client.post(reverse("login"), {"username": EMAIL, "password": "not-the-password"})
    assert response.status_code == 200

    captured = lines()
    assert any("job checkin-delivery done in" in line for line in captured), captured
    assert any("Not Found" in line for line in captured), captured
    secrets = [GIVEN_NAME, FAMILY_NAME, EMAIL, PHONE, "7700900481", token, "Ottoline"]
    # Item ids travel with answer values (form fields, stored answers): none is logged.
    secrets += [item for item in full_answers() if "." in item]
    secrets += [item.split(".")[1] for item in full_answers() if "." in item]
    for line in captured:
        for secret in secrets:
            assert secret not in line, (secret, line)
        if log_format == "json":
            entry = json.loads(line)
            assert {"time", "level", "logger", "message"} <= entry.keys()


def test_json_lines_carry_the_proxys_request_id(client, settings):
    stream = io.StringIO()
    config = copy.deepcopy(django_settings.LOGGING)
    config["handlers"]["console"].update(stream=stream, formatter="json")
    logging.config.dictConfig(config)
    try:
        client.get("/no-such-page/", headers={"X-Request-ID": "req-7f3a"})
    finally:
        logging.config.dictConfig(django_settings.LOGGING)
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    not_found = [entry for entry in entries if entry["logger"] == "django.request"]
    assert not_found and not_found[0]["request_id"] == "req-7f3a"
    assert not_found[0]["level"] == "WARNING"
    assert not_found[0]["message"] == "Not Found: /no-such-page/"
    datetime.datetime.fromisoformat(not_found[0]["time"])
