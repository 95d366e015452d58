"""``rapport worker --once``: every due job runs once, is logged, and beats."""

from __future__ import annotations

import logging

import pytest
from django.core import mail
from django.core.management import call_command
from django_q.models import Schedule, Success  # type: ignore[import-untyped]  # django-q2 ships no types

from rapport.checkin import delivery
from rapport.operations.heartbeat import latest_heartbeat
from rapport.operations.jobs import SCHEDULE_PREFIX, SCHEDULED_JOBS, install_schedules
from rapport.operations.runner import run_once
from rapport.operations.tests.conftest import CLIENT_EMAIL

# The in-process run closes stale connections between jobs, as django-q2's workers do;
# only a transactional test database survives that.
pytestmark = pytest.mark.django_db(transaction=True)


def test_once_sends_the_due_invitation_and_runs_every_job(due_invitation):
    report = run_once()
    assert report.jobs_run == len(SCHEDULED_JOBS)
    assert [message.to for message in mail.outbox] == [[CLIENT_EMAIL]]
    ran = sorted(Success.objects.values_list("func", flat=True))
    assert ran == sorted(job.func_path for job in SCHEDULED_JOBS)
    assert latest_heartbeat() is not None


def test_a_second_run_right_after_runs_and_sends_nothing(due_invitation):
    run_once()
    again = run_once()
    assert again.jobs_run == 0
    assert len(mail.outbox) == 1
    assert Success.objects.count() == len(SCHEDULED_JOBS)


def test_the_command_prints_how_many_jobs_ran(due_invitation, capsys):
    call_command("worker", "--once")
    assert f"{len(SCHEDULED_JOBS)} jobs run" in capsys.readouterr().out


def test_each_job_logs_name_duration_and_outcome_without_client_data(due_invitation, caplog):
    with caplog.at_level(logging.INFO, logger="rapport.worker"):
        run_once()
    lines = [r.getMessage() for r in caplog.records if r.name == "rapport.worker"]
    for scheduled in SCHEDULED_JOBS:
        assert any(line.startswith(f"job {scheduled.name} done in ") for line in lines), lines
    assert any("sent 1" in line for line in lines if "checkin-delivery" in line)
    record_number = due_invitation.owner_client.record_number
    assert not any(CLIENT_EMAIL in line or record_number in line for line in lines)


def test_a_failing_job_is_logged_by_class_and_the_others_still_run(
    due_invitation, caplog, monkeypatch
):
    def broken_send_due(now=None):
        raise ConnectionError(f"could not reach {CLIENT_EMAIL}")

    monkeypatch.setattr(delivery, "send_due", broken_send_due)
    with caplog.at_level(logging.INFO, logger="rapport.worker"):
        report = run_once()
    assert report.jobs_run == len(SCHEDULED_JOBS)
    lines = [r.getMessage() for r in caplog.records if r.name == "rapport.worker"]
    failure = [line for line in lines if line.startswith("job checkin-delivery failed")]
    assert failure and "ConnectionError" in failure[0]
    assert not any(CLIENT_EMAIL in line for line in lines)
    assert latest_heartbeat() is not None
    # Not retried by the queue: the schedule runs it again at its next due time.
    assert run_once().jobs_run == 0


def test_installing_schedules_twice_keeps_one_row_each_and_drops_retired_ones(db):
    Schedule.objects.create(name=SCHEDULE_PREFIX + "retired", func="os.getcwd")
    Schedule.objects.create(name="someone-elses", func="os.getcwd")
    install_schedules()
    install_schedules()
    names = sorted(Schedule.objects.values_list("name", flat=True))
    ours = [SCHEDULE_PREFIX + job.name for job in SCHEDULED_JOBS]
    assert names == sorted([*ours, "someone-elses"])


def test_audit_anchor_runs_once_a_day(due_invitation, settings):
    from rapport.security import audit

    audit.record("worker.test", object_type="test", object_id="1")
    run_once()
    run_once()
    anchors = settings.AUDIT_ANCHOR_FILE.read_text().splitlines()
    assert len(anchors) == 1


def test_failed_task_records_are_kept_thirty_days(db):
    import datetime

    from django.utils import timezone
    from django_q.models import Failure

    from rapport.operations.jobs import purge_failed_tasks

    now = timezone.now()

    def failure(days_ago: int) -> None:
        stopped = now - datetime.timedelta(days=days_ago)
        Failure.objects.create(
            id=f"t{days_ago}", name=f"t{days_ago}", func="x", started=stopped, stopped=stopped,
            success=False, result="Traceback ...",
        )  # fmt: skip

    for days_ago in (1, 29, 31, 400):
        failure(days_ago)

    assert purge_failed_tasks() == "removed 2 failed tasks"
    assert sorted(Failure.objects.values_list("name", flat=True)) == ["t1", "t29"]
