"""Who reads how an answer about the relationship was followed up.

When a client answers "I felt safe with my therapist in the last session: Disagree", the
therapist's supervisor follows it up and records how (contact, outcome, a note). That
record is about the therapist: at a clinic whose therapists read trust answers, the therapist sees
the flag and that it was followed up, by whom and when, but not how, in any channel; the
supervisor's form says so (rapport.security.access.may_follow_up, docs/safety.md).
"""

from __future__ import annotations

import importlib
import io

import pytest
from django.apps import apps
from django.urls import reverse
from pypdf import PdfReader

from rapport.checkin.acknowledgement import AcknowledgementError, acknowledge_alert, resolve_risk
from rapport.checkin.models import Alert, AlertKind, ContactMethod, RiskOutcome
from rapport.checkin.tests.helpers import full_answers, submit_answers, unsafe_answers
from rapport.clinic.models import TrustAnswersAudience
from rapport.security.access import may_follow_up, visible_alerts
from rapport.testing import api_token, bearer, login_verified

pytestmark = pytest.mark.django_db

NOTE = "The client felt judged when homework was not done; agreed to raise it together."
RESOLVED = "Raised together in session 3; the client says they feel safe again."
WITHHELD = (
    "How it was followed up is kept for the therapist\N{RIGHT SINGLE QUOTATION MARK}s supervisors."
)
OUTCOME = str(RiskOutcome.RELATIONSHIP_CHANGE_AGREED.label)


def followed_up(clinics, *, resolve: bool = False) -> Alert:
    """A relationship alert the supervisor has followed up, with a note."""
    submit_answers(clinics.owner_episode, unsafe_answers())
    alert = Alert.objects.get()
    acknowledge_alert(
        alert,
        clinics.supervisor,
        contact_method=ContactMethod.PHONE,
        risk_outcome=RiskOutcome.RELATIONSHIP_CHANGE_AGREED,
        note=NOTE,
    )
    if resolve:
        resolve_risk(alert, clinics.supervisor, note=RESOLVED)
    return alert


def channels(client, clinics, reader) -> dict[str, str]:
    """What ``reader`` is shown of the episode: client page, PDF report and API."""
    client.logout()
    login_verified(client, reader)
    episode = clinics.owner_episode
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    pdf = client.get(reverse("episode-report", args=[episode.public_id])).content
    printed = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    api = client.get("/api/v1/alerts", headers=bearer(api_token(reader)))
    return {
        "client page": page.content.decode().replace("&#x27;", "'"),
        "PDF report": " ".join(printed.split()),
        "API": api.content.decode(),
    }


def test_the_therapist_reads_that_it_was_followed_up_but_not_how(client, clinics):
    followed_up(clinics, resolve=True)
    seen = channels(client, clinics, clinics.owner)
    for channel, text in seen.items():
        assert NOTE not in text and RESOLVED not in text, channel
        assert OUTCOME not in text and "By phone" not in text, channel
    assert f"Followed up by {clinics.supervisor}" in seen["client page"]
    assert "Concern recorded as resolved by" in seen["client page"]
    assert WITHHELD in seen["client page"] and WITHHELD in seen["PDF report"]
    assert '"acknowledged_at": "' in seen["API"] or '"acknowledged_at":"' in seen["API"]


def test_the_supervisor_reads_the_whole_record_in_every_channel(client, clinics):
    followed_up(clinics, resolve=True)
    seen = channels(client, clinics, clinics.supervisor)
    for channel in ("client page", "PDF report"):
        assert NOTE in seen[channel] and OUTCOME in seen[channel], channel
        assert RESOLVED in seen[channel] and WITHHELD not in seen[channel], channel
    team = client.get(reverse("team")).content.decode().replace("&#x27;", "'")
    assert NOTE in team and OUTCOME in team


def test_a_symptom_alert_followed_up_by_the_supervisor_is_read_by_the_therapist(client, clinics):
    submit_answers(clinics.owner_episode, full_answers(phq9_item9=2))
    acknowledge_alert(
        Alert.objects.get(),
        clinics.supervisor,
        contact_method=ContactMethod.PHONE,
        risk_outcome=RiskOutcome.RISK_PRESENT_PLAN_REVIEWED,
        note=NOTE,
    )
    seen = channels(client, clinics, clinics.owner)
    for channel in ("client page", "PDF report"):
        assert NOTE in seen[channel] and WITHHELD not in seen[channel], channel
    assert f"Acknowledged by {clinics.supervisor}" in seen["client page"]


def test_the_supervisors_form_says_the_therapist_will_not_read_the_note(client, clinics):
    submit_answers(clinics.owner_episode, unsafe_answers(phq9_item9=2))
    login_verified(client, clinics.supervisor)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    labels = page.content.decode()
    assert labels.count("Note (optional; read by supervisors, not by the therapist)") == 1
    # The symptom answer's form, on the same page, keeps its own label.
    assert "Note (optional)<" in labels or "Note (optional)</label>" in labels


def test_a_followed_up_concern_still_answered_reads_as_one(client, clinics):
    followed_up(clinics)
    login_verified(client, clinics.supervisor)
    page = client.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    text = page.content.decode()
    assert "Concern about the relationship:</strong> Followed up on" in text
    # The check-in that raised it is still the last one: no "still" for the same answer.
    assert "was answered “Strongly disagree” at session" in text
    assert "; no check-in since." in text and "still answered" not in text
    assert "Risk reviewed" not in text
    assert "Record concern as resolved" in text
    assert "Why the concern is resolved (read by supervisors, not by the therapist)" in text


# --- An alert keeps what it is about, even after its questionnaire is uninstalled ------


def orphan_alert(clinics) -> Alert:
    """A relationship alert whose questionnaire this installation no longer has."""
    return Alert.objects.create(
        organisation=clinics.organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=clinics.owner_client,
        episode=clinics.owner_episode,
        code="critical:old_trust_safe",
        construct="trust",
    )


def test_an_uninstalled_questionnaires_alert_is_still_followed_up_by_the_supervisor(clinics):
    alert = orphan_alert(clinics)
    assert not may_follow_up(clinics.owner, alert)
    assert may_follow_up(clinics.supervisor, alert)
    with pytest.raises(AcknowledgementError, match="supervisor"):
        acknowledge_alert(
            alert,
            clinics.owner,
            contact_method=ContactMethod.IN_SESSION,
            risk_outcome=RiskOutcome.RELATIONSHIP_NO_CONCERN,
        )


def test_an_uninstalled_questionnaires_alert_stays_hidden_where_answers_are(clinics):
    alert = orphan_alert(clinics)
    clinics.organisation.trust_answers_audience = TrustAnswersAudience.SUPERVISORS
    clinics.organisation.save(update_fields=["trust_answers_audience"])
    assert list(visible_alerts(clinics.owner)) == []
    assert list(visible_alerts(clinics.supervisor)) == [alert]


def test_the_migration_gives_existing_alerts_the_construct_of_their_answer(clinics):
    submit_answers(clinics.owner_episode, unsafe_answers(phq9_item9=2))
    Alert.objects.update(construct="")
    migration = importlib.import_module("rapport.checkin.migrations.0010_alert_construct")
    migration.construct_from_the_answers(apps, None)
    constructs = dict(Alert.objects.values_list("code", "construct"))
    assert constructs == {"critical:trust_safe": "trust", "critical:phq9_9": "outcome"}
