"""/metrics: closed unless configured, open to the scraper's token or network, and moving."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import textwrap

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task  # type: ignore[import-untyped]  # django-q2 ships no types
from prometheus_client.parser import text_string_to_metric_families

from rapport.checkin import delivery
from rapport.checkin.tests.helpers import full_answers
from rapport.operations import jobs
from rapport.operations.tests.conftest import CLIENT_EMAIL
from rapport.testing import issue_checkin_link, make_two_clinics

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-for-tests-only-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def value(body: bytes, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels`` in a scrape, 0 when absent."""
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_NETWORKS = []


@pytest.fixture
def clinics_with_reachable_owner():
    clinics = make_two_clinics()
    clinics.owner.email = "owner@example.org"
    clinics.owner.save()
    return clinics


def scrape(client) -> bytes:
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    return response.content


def test_not_there_until_configured(client, settings):
    settings.METRICS_TOKEN, settings.METRICS_ALLOWED_NETWORKS = "", []
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers=BEARER).status_code == 404


def test_a_token_is_asked_for_and_a_wrong_one_refused(client, token):
    asked = client.get("/metrics")
    assert asked.status_code == 401
    assert asked["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    basic = {"Authorization": f"Basic {TOKEN}"}
    assert client.get("/metrics", headers=basic).status_code == 403


def test_the_right_token_gets_the_metrics_never_cached(client, token):
    response = client.get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    assert b"# TYPE rapport_http_request_duration_seconds histogram" in response.content
    assert value(response.content, "rapport_metrics_database_up") == 1


def test_an_allowed_network_needs_no_token(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403


def test_a_forged_forwarded_for_does_not_open_it(client, settings):
    settings.METRICS_TOKEN = ""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    forged = {"X-Forwarded-For": "10.1.2.3"}
    # Not behind a proxy: the header is anyone's to send, and ignored.
    settings.BEHIND_TLS_PROXY = False
    assert client.get("/metrics", headers=forged, REMOTE_ADDR="203.0.113.9").status_code == 403
    # Behind the clinic's proxy, the address it saw counts.
    settings.BEHIND_TLS_PROXY = True
    assert client.get("/metrics", headers=forged, REMOTE_ADDR="192.0.2.1").status_code == 200


def test_a_check_in_moves_the_counters_and_names_no_token(
    client, token, clinics_with_reachable_owner, django_capture_on_commit_callbacks
):
    clinics = clinics_with_reachable_owner
    issued = issue_checkin_link(clinics.owner_episode, channel="email")
    before = scrape(client)
    form = reverse("checkin-form", args=[issued.token])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{form}submit/", full_answers(phq9_item9=2))
    assert response.status_code == 200
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("rapport_checkins_submitted_total", channel="email") == 1
    submit = {"view": "checkin-submit", "method": "POST", "status": "2xx"}
    assert moved("rapport_http_request_duration_seconds_count", **submit) == 1
    # The critical answer: an open alert under an hour old, and the therapist's notice sent.
    assert value(after, "rapport_alerts_open", kind="critical_item", age="0-1h") == 1
    assert value(after, "rapport_alerts_open", kind="critical_item", age="7d+") == 0
    sent = {"kind": "safety_notice", "channel": "email"}
    assert moved("rapport_messages_sent_total", **sent) == 1
    assert issued.token.encode() not in after and b"/q/" not in after


def test_failed_sends_and_worker_jobs_are_counted(
    client, token, due_invitation, monkeypatch, settings
):
    settings.EMAIL_BACKEND = "rapport.checkin.tests.test_safety_notices.BrokenEmailBackend"
    before = scrape(client)
    jobs.send_checkin_messages()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

    def broken(now=None):
        raise ConnectionError("down")

    monkeypatch.setattr(delivery, "send_due", broken)
    with pytest.raises(ConnectionError):
        jobs.send_checkin_messages()
    after = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    failed = {"kind": "invitation", "channel": "email", "final": "false"}
    assert moved("rapport_messages_failed_total", **failed) == 1
    assert mail.outbox == [] and CLIENT_EMAIL.encode() not in after
    job = {"job": "checkin-delivery"}
    assert moved("rapport_worker_job_duration_seconds_count", **job) == 2
    assert moved("rapport_worker_job_failures_total", **job) == 1


def test_each_jobs_last_success_comes_from_the_database(client, token):
    finished = timezone.now() - datetime.timedelta(minutes=3)
    Task.objects.create(
        id="a" * 32,
        name="heartbeat-run",
        func="rapport.operations.jobs.beat",
        group=jobs.SCHEDULE_PREFIX + "heartbeat",
        started=finished,
        stopped=finished,
        success=True,
    )
    body = scrape(client)
    last = value(body, "rapport_worker_job_last_success_timestamp_seconds", job="heartbeat")
    assert last == pytest.approx(finished.timestamp(), abs=0.01)


def test_alerts_open_counts_each_age_bucket_once(token, client, clinics_with_reachable_owner):
    from rapport.checkin.models import Alert, AlertKind

    clinics = clinics_with_reachable_owner
    now = timezone.now()
    for hours in (0.5, 2, 30, 30, 24 * 10):
        Alert.objects.create(
            organisation=clinics.organisation,
            kind=AlertKind.CHECKINS_STOPPED,
            client=clinics.owner_client,
            raised_at=now - datetime.timedelta(hours=hours),
        )
    Alert.objects.create(  # acknowledged: not open
        organisation=clinics.organisation,
        kind=AlertKind.CHECKINS_STOPPED,
        client=clinics.owner_client,
        raised_at=now,
        acknowledged_at=now,
    )
    body = scrape(client)
    counts = {
        age: value(body, "rapport_alerts_open", kind="checkins_stopped", age=age)
        for age in ("0-1h", "1-4h", "4-24h", "1-7d", "7d+")
    }
    assert counts == {"0-1h": 1, "1-4h": 1, "4-24h": 0, "1-7d": 2, "7d+": 1}


def test_processes_sharing_a_multiprocess_folder_are_added_up(tmp_path):
    # Two processes (as gunicorn's workers) count into one folder; a third scrapes it.
    program = textwrap.dedent(
        """
        import os, sys
        import django
        os.environ["DJANGO_SETTINGS_MODULE"] = "rapport.settings_for_tests"
        django.setup()
        from prometheus_client import generate_latest
        from rapport.operations import metrics
        if sys.argv[1] == "count":
            metrics.count_checkin_submitted("kiosk")
        else:
            sys.stdout.write(generate_latest(metrics.scrape_registry(database=False)).decode())
        """
    )
    environment = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    environment["RAPPORT_DATA_DIR"] = str(tmp_path / "data")
    for _ in range(2):
        subprocess.run([sys.executable, "-c", program, "count"], env=environment, check=True)
    shown = subprocess.run(
        [sys.executable, "-c", program, "show"],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert value(shown.encode(), "rapport_checkins_submitted_total", channel="kiosk") == 2
