"""Two ``rapport worker --once`` processes at the same moment: every job once, one e-mail."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest
from django.db import connection
from django_q.models import Success  # type: ignore[import-untyped]  # django-q2 ships no types

from rapport.checkin.models import CheckinMessage
from rapport.operations.jobs import SCHEDULED_JOBS
from rapport.operations.tests.conftest import CLIENT_EMAIL
from rapport.security import audit


def _database_url() -> str:
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_run_each_job_once_and_send_each_message_once(due_invitation, tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is in memory: other processes cannot see it")
    audit.record("worker.test", object_type="test", object_id="1")
    anchors = tmp_path / "two-workers-anchors.jsonl"
    env = os.environ | {
        "RAPPORT_DATABASE_URL": _database_url(),
        "RAPPORT_EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "RAPPORT_AUDIT_ANCHOR_FILE": str(anchors),
        "DJANGO_SETTINGS_MODULE": "rapport.settings_for_tests",
    }
    command = [sys.executable, "-m", "rapport.cli", "worker", "--once"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr.decode(errors="replace")

    printed = b"".join(stdout for stdout, _ in outputs).decode(errors="replace")
    assert printed.count(f"To: {CLIENT_EMAIL}") == 1
    ran = Counter(Success.objects.values_list("func", flat=True))
    assert ran == Counter({job.func_path: 1 for job in SCHEDULED_JOBS})
    invitation = CheckinMessage.objects.get(kind="invitation")
    assert (invitation.status, invitation.attempts) == ("sent", 1)
    # One anchor line: the daily job that appends to a file outside the database ran once.
    assert len(anchors.read_text().splitlines()) == 1
