"""The final submission's guarantees: one transaction, the recorded language, the audit."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection

from rapport.checkin.models import CheckinDraft, CheckinLink, CheckinSubmission
from rapport.checkin.submit import Outcome, submit_checkin
from rapport.checkin.tests.helpers import full_answers
from rapport.checkin.views import _posted_answers
from rapport.clinic.models import AdministrationStatus
from rapport.core.instruments import instruments
from rapport.security import audit
from rapport.security.models import AuditEvent
from rapport.testing import issue_checkin_link, set_demographics

pytestmark = pytest.mark.django_db


def submit(issued, language=None):
    posted = _posted_answers(full_answers())
    return submit_checkin(issued.token, posted, comment="", language=language)


def test_the_clients_preferred_language_is_recorded_without_a_choice(clinics, issued):
    set_demographics(clinics.owner_client, language="es")
    result = submit(issued)
    assert result.outcome is Outcome.STORED and result.language == "es"
    assert CheckinSubmission.objects.get().language == "es"


def test_the_drafts_language_beats_the_preferred_one(clinics, issued):
    set_demographics(clinics.owner_client, language="es")
    CheckinDraft.objects.create(link=issued.link, language="en")
    assert submit(issued).language == "en"
    assert not CheckinDraft.objects.exists()  # the draft is gone with the submission


def test_the_pages_language_beats_both(clinics, issued):
    set_demographics(clinics.owner_client, language="en")
    CheckinDraft.objects.create(link=issued.link, language="en")
    assert submit(issued, language="es").language == "es"


def test_a_submission_is_audited_and_the_chain_verifies(issued):
    submit(issued)
    event = AuditEvent.objects.get(action="checkin.submit")
    assert event.pk is not None and event.object_type == "checkin.checkinlink"
    assert audit.verify().ok


@pytest.mark.parametrize(
    "own_transaction",
    [
        # As in a request: the submission's own transaction (pipelined on PostgreSQL).
        pytest.param(True, marks=pytest.mark.django_db(transaction=True)),
        # Inside a caller's transaction: rolled back to its savepoint.
        False,
    ],
)
def test_a_failing_write_rolls_the_whole_submission_back(clinics, own_transaction):
    issued = issue_checkin_link(clinics.owner_episode)
    # A submission row the link check does not know about: the INSERT fails after the
    # scores were written (on PostgreSQL, a queued statement whose error surfaces later).
    CheckinSubmission.objects.create(link=issued.link, session=issued.link.session)
    assert connection.in_atomic_block is not own_transaction
    with pytest.raises(IntegrityError):
        submit(issued)
    session = issued.link.session
    assert not session.administrations.filter(status=AdministrationStatus.COMPLETED).exists()
    assert CheckinLink.objects.get(pk=issued.link.pk).used_at is None
    assert not AuditEvent.objects.filter(action="checkin.submit").exists()
    # The connection is usable afterwards, and the audit trail is intact.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)
    assert audit.verify().ok


def test_a_closed_link_answers_410_whatever_was_posted(client, issued):
    assert submit(issued).outcome is Outcome.STORED
    response = client.post(f"{issued.path}submit/", {"phq9.phq9_1": "not an option"})
    assert response.status_code == 410


def test_an_open_link_refuses_an_answer_no_form_offers(client, issued):
    response = client.post(f"{issued.path}submit/", {"phq9.phq9_1": "not an option"})
    assert response.status_code == 400
    assert not CheckinSubmission.objects.exists()


def test_the_thank_you_page_is_in_the_recorded_language(client, clinics, issued):
    set_demographics(clinics.owner_client, language="es")
    page = client.post(f"{issued.path}submit/", full_answers()).content.decode()
    assert '<html lang="es">' in page and "Gracias" in page
    response = client.post(
        f"{issue_checkin_link(clinics.owner_episode).path}submit/?lang=en", full_answers()
    )
    assert '<html lang="en">' in response.content.decode()
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "no-referrer"


def test_each_questionnaire_stores_its_answers_and_scores(issued):
    # Varied answers (not the helper's uniform ones), so a score stored on the wrong
    # questionnaire or a field written from another would show.
    form = full_answers()
    registry = instruments()
    for instrument_id in ("rapport_trust", "rapport_alliance", "phq9"):
        for position, item in enumerate(registry[instrument_id].items):
            values = item.option_values
            form[f"{instrument_id}.{item.id}"] = str(int(values[position % len(values)]))
    form["phq9.phq9_9"] = "2"  # a critical answer: the flag is stored too
    posted = _posted_answers(form)

    assert submit_checkin(issued.token, posted, comment="").outcome is Outcome.STORED

    stored = list(issued.link.session.administrations.all())
    assert {a.instrument_id for a in stored} >= {"rapport_trust", "rapport_alliance", "phq9"}
    for administration in stored:
        instrument = registry[administration.instrument_id]
        expected = instrument.score(posted[instrument.id])
        assert administration.status == AdministrationStatus.COMPLETED
        assert administration.completed_at is not None
        assert administration.answers == posted[instrument.id]
        assert administration.total == expected.total
        assert administration.subscales == expected.subscales
        assert administration.band == (expected.band or "")
        assert administration.flags == expected.flags
        assert administration.missing == expected.missing
    phq9 = next(a for a in stored if a.instrument_id == "phq9")
    assert phq9.flags == ["critical:phq9_9"]
