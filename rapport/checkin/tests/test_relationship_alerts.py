"""A client who did not feel safe with their therapist: the supervisor is told and follows up.

"I felt safe with my therapist in the last session: Disagree" is a critical answer of
Rapport's trust scale. It used to show a red Safety flag to the very therapist it was
about, and notify nobody. Now it raises an alert whose notice goes to the therapist's
supervisor at once (then the clinic's fallback contact), which only a supervisor
acknowledges, with outcomes that fit; and a therapist who may not read relationship
answers never learns of it in any channel (docs/safety.md, "Answers about the
relationship").
"""

from __future__ import annotations

import datetime
import io

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from rapport.checkin import delivery
from rapport.checkin.acknowledgement import AcknowledgementError, acknowledge_alert
from rapport.checkin.models import (
    Alert,
    ContactMethod,
    MessageStatus,
    NoticeStep,
    RiskOutcome,
    SafetyNotice,
)
from rapport.checkin.submit import Outcome
from rapport.checkin.tests.helpers import (
    FALLBACK_EMAIL,
    SUPERVISOR_EMAIL,
    THERAPIST_EMAIL,
    full_answers,
    recipients,
    submit_answers,
    unsafe_answers,
)
from rapport.clinic.models import TrustAnswersAudience
from rapport.testing import api_token, bearer, issue_checkin_link, login_verified

pytestmark = pytest.mark.django_db

UNSAFE = "critical:trust_safe"
# What the supervisor's e-mail says of why it comes to them, and the thank-you page's box.
SUPERVISOR_FIRST = "the answer is about the client's relationship with their therapist"
FOLLOW_UP = {
    "en": "has been passed to a clinical supervisor at the clinic, who will get in touch",
    "es": "se ha comunicado a un supervisor clínico de la clínica, que se pondrá en contacto",
}
THERAPIST_LINE = "The therapist\N{RIGHT SINGLE QUOTATION MARK}s supervisor follows up answers"


def supervisors_only(clinics) -> None:
    clinics.organisation.trust_answers_audience = TrustAnswersAudience.SUPERVISORS
    clinics.organisation.save(update_fields=["trust_answers_audience"])


def submit_unsafe(clinics, phq9_item9: int = 0):
    return submit_answers(clinics.owner_episode, unsafe_answers(phq9_item9))


def test_the_supervisor_is_told_at_once_and_the_therapist_never(
    reachable, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = submit_unsafe(reachable)
    assert result.outcome is Outcome.STORED
    assert result.relationship_followup and not result.show_crisis_resources
    alert = Alert.objects.get()
    assert alert.code == UNSAFE and alert.acknowledged_at is None
    assert recipients() == [SUPERVISOR_EMAIL]
    notice = SafetyNotice.objects.get()
    assert (notice.step, notice.status, notice.recipient) == (
        NoticeStep.SUPERVISOR,
        MessageStatus.SENT,
        reachable.supervisor,
    )
    body = mail.outbox[0].body
    assert SUPERVISOR_FIRST in body
    assert reachable.owner_client.record_number in body
    assert "trust" not in body.lower() and "safe" not in body.lower(), "no answer in a notice"


def test_the_fallback_contact_follows_after_the_second_interval_and_the_therapist_never(
    reachable, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        submit_unsafe(reachable)
    raised = Alert.objects.get().raised_at
    # Default intervals: two hours each. The fallback comes one interval after the
    # supervisor's notice, which went at once.
    delivery.send_due(now=raised + datetime.timedelta(minutes=119))
    assert recipients() == [SUPERVISOR_EMAIL]
    delivery.send_due(now=raised + datetime.timedelta(minutes=121))
    assert recipients() == [SUPERVISOR_EMAIL, FALLBACK_EMAIL]
    delivery.send_due(now=raised + datetime.timedelta(hours=10))
    assert recipients() == [SUPERVISOR_EMAIL, FALLBACK_EMAIL]
    steps = sorted(SafetyNotice.objects.values_list("step", flat=True))
    assert steps == [NoticeStep.FALLBACK, NoticeStep.SUPERVISOR]
    assert "the therapist's supervisor has not acknowledged" in mail.outbox[1].body


def test_a_symptom_answer_in_the_same_check_in_still_goes_to_the_therapist_first(
    reachable, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        result = submit_unsafe(reachable, phq9_item9=2)
    assert result.relationship_followup and result.show_crisis_resources
    first = dict(SafetyNotice.objects.values_list("alert__code", "step"))
    assert first == {UNSAFE: NoticeStep.SUPERVISOR, "critical:phq9_9": NoticeStep.THERAPIST}
    assert sorted(recipients()) == sorted([THERAPIST_EMAIL, SUPERVISOR_EMAIL])


def test_acknowledging_stops_the_fallback_notice(reachable, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submit_unsafe(reachable)
    alert = Alert.objects.get()
    acknowledge_alert(
        alert,
        reachable.supervisor,
        contact_method=ContactMethod.PHONE,
        risk_outcome=RiskOutcome.RELATIONSHIP_CHANGE_AGREED,
    )
    delivery.send_due(now=alert.raised_at + datetime.timedelta(hours=10))
    assert recipients() == [SUPERVISOR_EMAIL]


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_client_is_told_who_follows_it_up_in_their_language(client, clinics, language):
    issued = issue_checkin_link(clinics.owner_episode)
    page = client.post(f"{issued.path}submit/?lang={language}", unsafe_answers()).content.decode()
    assert 'class="ck-followup"' in page and FOLLOW_UP[language] in page
    assert 'class="ck-crisis"' not in page, "crisis lines are for self-harm, not this"
    other = "es" if language == "en" else "en"
    assert FOLLOW_UP[other] not in page


def test_no_follow_up_box_without_the_answer(client, clinics):
    issued = issue_checkin_link(clinics.owner_episode)
    page = client.post(f"{issued.path}submit/?lang=en", full_answers()).content.decode()
    assert "ck-followup" not in page


# --- Who acknowledges, and with which outcomes ----------------------------------------


def test_only_the_supervisor_acknowledges_it(clinics):
    submit_unsafe(clinics)
    alert = Alert.objects.get()
    with pytest.raises(AcknowledgementError, match="supervisor"):
        acknowledge_alert(
            alert,
            clinics.owner,
            contact_method=ContactMethod.IN_SESSION,
            risk_outcome=RiskOutcome.RELATIONSHIP_NO_CONCERN,
        )
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    acknowledge_alert(
        alert,
        clinics.supervisor,
        contact_method=ContactMethod.PHONE,
        risk_outcome=RiskOutcome.RELATIONSHIP_NO_CONCERN,
        note="Spoke with the client; a misunderstanding about a cancelled session.",
    )
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinics.supervisor
    assert alert.risk_outcome == RiskOutcome.RELATIONSHIP_NO_CONCERN


@pytest.mark.parametrize(
    ("code", "wrong"),
    [
        (UNSAFE, RiskOutcome.NO_CURRENT_RISK),
        ("critical:phq9_9", RiskOutcome.RELATIONSHIP_NO_CONCERN),
    ],
)
def test_an_outcome_for_the_other_kind_of_answer_is_refused(clinics, code, wrong):
    submit_unsafe(clinics, phq9_item9=2)
    alert = Alert.objects.get(code=code)
    with pytest.raises(AcknowledgementError, match="not one of the choices"):
        acknowledge_alert(
            alert, clinics.supervisor, contact_method=ContactMethod.PHONE, risk_outcome=wrong
        )
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_no_concern_needs_a_conversation_with_the_client(clinics):
    submit_unsafe(clinics)
    with pytest.raises(AcknowledgementError, match="needs a conversation"):
        acknowledge_alert(
            Alert.objects.get(),
            clinics.supervisor,
            contact_method=ContactMethod.NOT_REACHED,
            risk_outcome=RiskOutcome.RELATIONSHIP_NO_CONCERN,
        )


def client_page(client, clinics) -> str:
    url = reverse("client-detail", args=[clinics.owner_client.public_id])
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_the_supervisor_gets_the_follow_up_form_and_the_therapist_a_line(client, clinics):
    submit_unsafe(clinics)
    login_verified(client, clinics.supervisor)
    page = client_page(client, clinics)
    assert "Outcome of the follow-up" in page
    assert 'value="relationship_change_agreed"' in page
    assert 'value="no_current_risk"' not in page
    assert THERAPIST_LINE not in page
    assert "seen by your supervisor" not in page, "a supervisor has no supervisor"

    client.logout()
    login_verified(client, clinics.owner)
    page = client_page(client, clinics)
    assert THERAPIST_LINE in page
    assert 'name="risk_outcome"' not in page
    # Posting the form anyway is refused and changes nothing.
    alert = Alert.objects.get()
    response = client.post(
        reverse("episode-acknowledge", args=[clinics.owner_episode.public_id]),
        {
            "target": f"alert:{alert.public_id}",
            "contact_method": ContactMethod.IN_SESSION,
            "risk_outcome": RiskOutcome.RELATIONSHIP_NO_CONCERN,
        },
    )
    assert response.status_code == 404
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_the_supervisor_acknowledges_it_on_the_client_page(client, clinics):
    submit_unsafe(clinics)
    alert = Alert.objects.get()
    login_verified(client, clinics.supervisor)
    response = client.post(
        reverse("episode-acknowledge", args=[clinics.owner_episode.public_id]),
        {
            "target": f"alert:{alert.public_id}",
            "contact_method": ContactMethod.PHONE,
            "risk_outcome": RiskOutcome.RELATIONSHIP_PROCEDURE,
            "note": "Passed to the clinic director.",
        },
        follow=True,
    )
    said = response.content.decode()
    assert "Alert acknowledged." in said and "visible to your supervisor" not in said
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinics.supervisor
    page = client_page(client, clinics)
    assert "Taken up under the clinic&#x27;s safeguarding or complaints procedure" in page


# --- A therapist who may not read relationship answers never learns of it -------------


def test_supervisors_only_the_therapist_sees_it_in_no_channel(client, clinics):
    supervisors_only(clinics)
    submit_unsafe(clinics)
    alert = Alert.objects.get()
    episode = clinics.owner_episode
    login_verified(client, clinics.owner)

    pages = {
        "client page": client_page(client, clinics),
        "caseload": client.get(reverse("home")).content.decode(),
        "brief": client.get(reverse("episode-brief", args=[episode.public_id])).content.decode(),
        "worklist": client.get(reverse("worklist")).content.decode(),
    }
    for channel, page in pages.items():
        assert "flag-safety" not in page and "trust_safe" not in page, channel
        assert str(alert.public_id) not in page, channel
    assert "No flags." in pages["client page"]
    pdf = client.get(reverse("episode-report", args=[episode.public_id])).content
    printed = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Safety:" not in printed and "Rapport trust" not in printed
    listed = client.get("/api/v1/alerts", headers=bearer(api_token(clinics.owner))).json()
    assert listed["items"] == []

    # The supervisor, who reads these answers, sees it everywhere.
    listed = client.get("/api/v1/alerts", headers=bearer(api_token(clinics.supervisor))).json()
    assert [item["id"] for item in listed["items"]] == [str(alert.public_id)]
    client.logout()
    login_verified(client, clinics.supervisor)
    assert "Outcome of the follow-up" in client_page(client, clinics)
    team = client.get(reverse("team")).content.decode()
    assert clinics.owner_client.record_number in team


def test_a_therapist_who_reads_trust_answers_sees_the_flag_and_who_follows_it_up(client, clinics):
    submit_unsafe(clinics)
    login_verified(client, clinics.owner)
    page = client_page(client, clinics)
    assert "Safety" in page and THERAPIST_LINE in page
    listed = client.get("/api/v1/alerts", headers=bearer(api_token(clinics.owner))).json()
    assert [item["code"] for item in listed["items"]] == [UNSAFE]


def test_an_old_unacknowledged_relationship_flag_says_nobody_was_told(client, clinics):
    # A check-in stored before relationship answers raised alerts: the flag, no alert.
    submit_unsafe(clinics)
    Alert.objects.all().delete()
    login_verified(client, clinics.supervisor)
    page = client_page(client, clinics)
    assert "given before answers about the relationship raised alerts" in page


def test_the_brief_gives_guidance_that_fits_the_answer(client, clinics):
    submit_unsafe(clinics)
    login_verified(client, clinics.supervisor)
    url = reverse("episode-brief", args=[clinics.owner_episode.public_id])
    brief = client.get(url).content.decode()
    assert "a concern about safety with the therapist, which their supervisor follows up" in brief
    assert "someone other than the therapist follows it up" in brief
    assert "suicidal thoughts" not in brief and "lethal means" not in brief

    # With item 9 endorsed as well, both kinds of guidance are given.
    submit_unsafe(clinics, phq9_item9=1)
    brief = client.get(url).content.decode()
    assert "someone other than the therapist follows it up" in brief
    assert "suicidal thoughts" in brief


def test_the_supervisors_follow_up_is_not_counted_as_the_therapists_pace(client, clinics):
    submit_unsafe(clinics)
    acknowledge_alert(
        Alert.objects.get(),
        clinics.supervisor,
        contact_method=ContactMethod.PHONE,
        risk_outcome=RiskOutcome.RELATIONSHIP_NO_CONCERN,
    )
    login_verified(client, clinics.supervisor)
    team = client.get(reverse("team")).content.decode()
    assert clinics.owner_client.record_number in team
    assert "Median time to acknowledge" not in team


def test_without_a_supervisor_the_fallback_contact_is_told_at_once(
    reachable, django_capture_on_commit_callbacks
):
    reachable.owner.supervisor = None
    reachable.owner.save(update_fields=["supervisor"])
    with django_capture_on_commit_callbacks(execute=True):
        submit_unsafe(reachable)
    assert recipients() == [FALLBACK_EMAIL]
    skipped = SafetyNotice.objects.get(step=NoticeStep.SUPERVISOR)
    assert (skipped.status, skipped.last_error) == (
        MessageStatus.SKIPPED,
        "the therapist has no supervisor",
    )
    assert not SafetyNotice.objects.filter(step=NoticeStep.THERAPIST).exists()
