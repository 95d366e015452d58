"""Concurrent submissions of one link store exactly one submission."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from rapport.checkin.models import CheckinSubmission
from rapport.checkin.submit import Outcome, submit_checkin
from rapport.checkin.tests.helpers import full_answers
from rapport.checkin.views import _posted_answers
from rapport.clinic.models import AdministrationStatus
from rapport.testing import issue_checkin_link, make_two_clinics


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_store_once():
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is one shared in-memory connection; threads test PG")
    clinics = make_two_clinics()
    issued = issue_checkin_link(clinics.owner_episode)
    posted = _posted_answers(full_answers())
    outcomes: list[Outcome] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def submit() -> None:
        try:
            barrier.wait()
            outcomes.append(submit_checkin(issued.token, posted, comment="", language="en").outcome)
        except BaseException as error:  # collected and re-raised by the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(o.value for o in outcomes) == ["closed"] * 7 + ["stored"]
    assert CheckinSubmission.objects.count() == 1
    session = issued.link.session
    assert session.administrations.filter(status=AdministrationStatus.COMPLETED).count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_links_of_one_session_store_once():
    clinics = make_two_clinics()
    first = issue_checkin_link(clinics.owner_episode)
    second = issue_checkin_link(clinics.owner_episode)
    assert first.link.session_id == second.link.session_id
    posted = _posted_answers(full_answers())
    assert submit_checkin(first.token, posted, comment="", language="en").outcome is Outcome.STORED
    assert submit_checkin(second.token, posted, comment="", language="en").outcome is Outcome.CLOSED
    assert CheckinSubmission.objects.count() == 1


@pytest.mark.django_db
def test_a_link_can_hold_only_one_submission(issued):
    session = issued.link.session
    CheckinSubmission.objects.create(link=issued.link, session=session)
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckinSubmission.objects.create(link=issued.link, session=session)
