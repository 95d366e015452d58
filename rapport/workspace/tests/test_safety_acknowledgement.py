"""Acknowledging a risk answer is a clinical record, and the risk stays marked (issue #16).

The client page's acknowledge form records how the client was reached, the outcome of
the risk review and an optional note; the caseload and client page keep a "risk
reviewed" marker while the latest check-in still endorses PHQ-9 item 9, until a later
check-in answers it 0 or a clinician records the risk as resolved.
"""

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from rapport.checkin.acknowledgement import AcknowledgementError, acknowledge_alert
from rapport.checkin.models import Alert, AlertKind, CheckinPreference
from rapport.core.instruments import instruments
from rapport.security.access import active_caseload
from rapport.security.models import AuditEvent
from rapport.testing import (
    add_answers,
    add_session,
    login_verified,
    make_episode,
    make_organisation,
    make_user,
)
from rapport.workspace.caseload import caseload
from rapport.workspace.flags import risk_item
from rapport.workspace.tests.conftest import answers_for

pytestmark = pytest.mark.django_db

NOTE = "Phoned; plan reviewed with her sister present."


@pytest.fixture
def team():
    organisation = make_organisation()
    supervisor = make_user(organisation, "supervisor")
    therapist = make_user(organisation, supervisor=supervisor)
    return {"supervisor": supervisor, "therapist": therapist}


@pytest.fixture
def at_risk(team, trajectory):
    """PHQ-9 item 9 answered "Several days" at session 2."""
    return trajectory(team["therapist"], "R-RISK", phq9=[12, 13], unsafe_at=2)


def page_of(client, episode) -> str:
    response = client.get(reverse("client-detail", args=[episode.client.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def acknowledge(client, episode, **fields):
    data = {"target": "critical:phq9_9@2", **fields}
    return client.post(reverse("episode-acknowledge", args=[episode.public_id]), data)


def add_phq9(episode, number, item9):
    """A later check-in with PHQ-9 item 9 answered ``item9`` (None: left unanswered)."""
    session = add_session(episode, number)
    answers = answers_for("phq9", 12)
    if item9 is None:
        answers.pop("phq9_9")
    else:
        answers["phq9_9"] = item9
    add_answers(session, instruments()["phq9"], answers)


def row_of(user, record_number):
    rows = caseload(active_caseload(user), user).rows
    return next(row for row in rows if row.episode.client.record_number == record_number)


# --- the structured record --------------------------------------------------------------


def test_acknowledging_records_contact_outcome_and_note_and_audits_no_note(client, team, at_risk):
    login_verified(client, team["therapist"])
    record = {"contact_method": "phone", "risk_outcome": "risk_present_plan_reviewed"}
    response = acknowledge(client, at_risk, note=NOTE, **record)
    assert response.status_code == 302
    alert = Alert.objects.get(episode=at_risk)
    assert (alert.contact_method, alert.risk_outcome) == ("phone", "risk_present_plan_reviewed")
    assert alert.acknowledgement_note == NOTE
    event = AuditEvent.objects.get(action="alert.acknowledge")
    assert event.object_id == str(alert.public_id)
    assert event.detail["fields"] == ["contact_method", "risk_outcome", "acknowledgement_note"]
    assert "sister" not in str(event.detail) and "Phoned" not in str(event.detail)
    page = page_of(client, at_risk)
    assert "By phone · Risk present, safety plan reviewed: “" + NOTE in page


def test_the_note_is_optional_for_a_risk_answer(client, team, at_risk):
    login_verified(client, team["therapist"])
    acknowledge(client, at_risk, contact_method="in_session", risk_outcome="no_current_risk")
    alert = Alert.objects.get(episode=at_risk)
    assert alert.acknowledged_at is not None and alert.acknowledgement_note == ""
    assert AuditEvent.objects.get(action="alert.acknowledge").detail["fields"] == [
        "contact_method",
        "risk_outcome",
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"risk_outcome": "no_current_risk"}, "Choose how the client was reached."),
        ({"contact_method": "phone"}, "Choose the outcome of the risk review."),
        (
            {"contact_method": "carrier_pigeon", "risk_outcome": "no_current_risk"},
            "Select a valid choice.",
        ),
        (
            {"contact_method": "phone", "risk_outcome": "no_current_risk", "note": "x" * 501},
            "at most 500 characters",
        ),
        (
            {"contact_method": "not_reached", "risk_outcome": "no_current_risk"},
            "you could not reach them",
        ),
    ],
)
def test_an_incomplete_record_is_refused_with_a_clear_message(
    client, team, at_risk, fields, message
):
    login_verified(client, team["therapist"])
    response = acknowledge(client, at_risk, **fields)
    assert response.status_code == 302
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()
    # A safety answer from imported data raised no alert row; a refused record keeps none.
    assert not Alert.objects.exists()
    assert not AuditEvent.objects.filter(action="alert.acknowledge").exists()
    assert message in page_of(client, at_risk)


def test_stopped_checkins_are_acknowledged_with_a_note_only(client, team, trajectory):
    episode = trajectory(team["therapist"], "R-STOP", trust=[6, 6])
    CheckinPreference.objects.create(client=episode.client, stopped_at="2026-02-01T10:00Z")
    alert = Alert.objects.create(
        organisation=team["therapist"].organisation,
        kind=AlertKind.CHECKINS_STOPPED,
        client=episode.client,
        episode=episode,
        raised_at="2026-02-01T10:00Z",
    )
    login_verified(client, team["therapist"])
    url = reverse("episode-acknowledge", args=[episode.public_id])
    target = f"alert:{alert.public_id}"
    client.post(url, {"target": target})
    alert.refresh_from_db()
    assert alert.acknowledged_at is None
    client.post(url, {"target": target, "note": "Spoke at session; prefers paper forms."})
    alert.refresh_from_db()
    assert alert.acknowledged_at is not None and alert.risk_outcome == ""


def test_acknowledge_alert_is_one_function_other_modules_can_call(team, at_risk):
    alert = Alert.objects.create(
        organisation=team["therapist"].organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=at_risk.client,
        episode=at_risk,
        session=at_risk.sessions.get(number=2),
        code="critical:phq9_9",
    )
    with pytest.raises(AcknowledgementError, match="Choose how the client was reached"):
        acknowledge_alert(alert, team["therapist"], risk_outcome="no_current_risk")
    acknowledge_alert(
        alert, team["supervisor"], contact_method="phone", risk_outcome="emergency_services"
    )
    assert Alert.objects.get().acknowledged_by == team["supervisor"]
    with pytest.raises(AcknowledgementError, match="already been acknowledged"):
        acknowledge_alert(
            alert, team["therapist"], contact_method="phone", risk_outcome="emergency_services"
        )


# --- the risk marker --------------------------------------------------------------------


def test_the_marker_stays_on_the_caseload_while_item_9_is_still_endorsed(client, team, at_risk):
    login_verified(client, team["therapist"])
    acknowledge(client, at_risk, contact_method="phone", risk_outcome="risk_present_plan_reviewed")
    caseload_page = client.get(reverse("home")).content.decode()
    assert "Risk reviewed" in caseload_page and "No flags" not in caseload_page
    # Right after the review, the check-in that raised it is the last one: the marker says
    # so rather than calling the same answer "still" endorsed.
    assert "PHQ-9 item 9 endorsed at session 2 (“Several days”); no check-in since." in (
        caseload_page
    )
    assert "still endorsed" not in caseload_page
    row = row_of(team["therapist"], "R-RISK")
    assert row.open_flags == [] and row.urgency == 1
    report = client.get(reverse("episode-report", args=[at_risk.public_id])).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(report)).pages)
    assert "Risk marker: Risk reviewed on" in text
    # A later check-in that leaves item 9 unanswered does not take the risk back either.
    add_phq9(at_risk, 3, None)
    (marker,) = row_of(team["therapist"], "R-RISK").markers
    assert "was not answered at the last check-in (session 3)" in marker.message


def test_a_later_check_in_with_item_9_at_zero_clears_the_marker(client, team, at_risk):
    login_verified(client, team["therapist"])
    acknowledge(client, at_risk, contact_method="in_session", risk_outcome="no_current_risk")
    add_phq9(at_risk, 3, 0)
    row = row_of(team["therapist"], "R-RISK")
    assert row.markers == [] and row.urgency == 6
    page = page_of(client, at_risk)
    assert "Risk marker:" not in page
    # The record of the review stays on the client page.
    assert "In session · No current risk" in page


def test_recording_the_risk_resolved_clears_the_marker_and_is_audited_without_the_note(
    client, team, at_risk
):
    login_verified(client, team["therapist"])
    acknowledge(client, at_risk, contact_method="phone", risk_outcome="risk_present_plan_reviewed")
    alert = Alert.objects.get(episode=at_risk)
    url = reverse("episode-resolve-risk", args=[at_risk.public_id])
    client.post(url, {"alert": str(alert.public_id), "note": "  "})
    alert.refresh_from_db()
    assert alert.resolved_at is None
    assert "Write a short note on why the risk is resolved." in page_of(client, at_risk)
    response = client.post(url, {"alert": str(alert.public_id), "note": "Reviewed with GP."})
    assert response.status_code == 302
    alert.refresh_from_db()
    assert alert.resolved_by == team["therapist"] and alert.resolution_note == "Reviewed with GP."
    event = AuditEvent.objects.get(action="alert.resolve")
    assert event.object_id == str(alert.public_id) and "GP" not in str(event.detail)
    assert row_of(team["therapist"], "R-RISK").markers == []
    assert "Risk recorded as resolved by" in page_of(client, at_risk)
    # Resolved once: the marker is gone, so there is nothing left to resolve.
    assert client.post(url, {"alert": str(alert.public_id), "note": "again"}).status_code == 404


def test_an_unacknowledged_risk_cannot_be_recorded_resolved(client, team, at_risk):
    alert = Alert.objects.create(
        organisation=team["therapist"].organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=at_risk.client,
        episode=at_risk,
        session=at_risk.sessions.get(number=2),
        code="critical:phq9_9",
    )
    login_verified(client, team["therapist"])
    url = reverse("episode-resolve-risk", args=[at_risk.public_id])
    assert client.post(url, {"alert": str(alert.public_id), "note": "fine"}).status_code == 404
    alert.refresh_from_db()
    assert alert.resolved_at is None


def test_the_client_page_shows_item_9_history_in_words(client, team, at_risk):
    add_phq9(at_risk, 3, 2)
    add_phq9(at_risk, 4, 0)
    login_verified(client, team["therapist"])
    page = page_of(client, at_risk)
    table = page[page.index('<table class="risk-history">') :]
    table = table[: table.index("</table>")]
    assert "PHQ-9 item 9 at each check-in" in table
    row = r'<tr[^>]*><td class="num">(\d+)</td><td>([^<]+)</td><td>(.+?)</td>'
    cells = re.findall(row, table)
    assert [(s, re.sub("<[^>]+>", "", a)) for s, _d, a in cells] == [
        ("4", "Not at all"),
        ("3", "More than half the days"),
        ("2", "Several days"),
        ("1", "Several days"),
    ]
    assert [d for _s, d, _a in cells] == ["2 Feb 2026", "26 Jan 2026", "19 Jan 2026", "12 Jan 2026"]
    assert "critical:" not in page


# --- the caseload's order ---------------------------------------------------------------


def risk_client(therapist, record_number, *, item9=1, raised_days_ago=1, acknowledged=False):
    """A client whose PHQ-9 item 9 is ``item9`` at session 2, with its alert row."""
    episode = make_episode_with_phq9(therapist, record_number, item9)
    raised = timezone.now() - datetime.timedelta(days=raised_days_ago)
    Alert.objects.create(
        organisation=therapist.organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=episode.client,
        episode=episode,
        session=episode.sessions.get(number=2),
        code="critical:phq9_9",
        raised_at=raised,
        acknowledged_at=raised + datetime.timedelta(hours=1) if acknowledged else None,
        acknowledged_by=therapist if acknowledged else None,
        contact_method="phone" if acknowledged else "",
        risk_outcome="risk_present_plan_reviewed" if acknowledged else "",
    )
    return episode


def make_episode_with_phq9(therapist, record_number, item9):
    from rapport.testing import make_episode

    episode = make_episode(therapist, record_number=record_number)
    for number, total in ((1, 12), (2, 13)):
        session = add_session(episode, number)
        overrides = {"phq9_9": item9} if number == 2 else {}
        add_answers(session, instruments()["phq9"], answers_for("phq9", total, **overrides))
    return episode


def order(user):
    return [row.episode.client.record_number for row in caseload(active_caseload(user), user).rows]


def test_severity_is_how_far_an_answer_lies_into_the_risk_range():
    item9 = risk_item("critical:phq9_9", instruments())
    assert [item9.severity(value) for value in (0, 1, 3, None)] == [0, 1, 3, 0]
    # "I felt safe" is a risk at 2 or below: 1 is the more severe answer.
    felt_safe = risk_item("critical:trust_safe", instruments())
    assert [felt_safe.severity(value) for value in (3, 2, 1)] == [0, 1, 2]


def test_a_new_unacknowledged_safety_alert_sorts_above_an_older_acknowledged_one(team, trajectory):
    therapist = team["therapist"]
    trajectory(therapist, "A-TRUST-FELL", trust=[6, 4])
    risk_client(therapist, "B-OLD-ACKED", raised_days_ago=5, acknowledged=True)
    risk_client(therapist, "C-NEW-OPEN", raised_days_ago=0)
    # The acknowledged risk is still endorsed, so it stays in the safety tier, below the
    # one nobody has looked at yet and above the lower tiers.
    assert order(therapist) == ["C-NEW-OPEN", "B-OLD-ACKED", "A-TRUST-FELL"]


def test_within_the_safety_tier_the_higher_item_9_answer_comes_first(team):
    therapist = team["therapist"]
    risk_client(therapist, "A-SEVERAL-DAYS", item9=1, raised_days_ago=0)
    risk_client(therapist, "B-NEARLY-EVERY-DAY", item9=3, raised_days_ago=3)
    assert order(therapist) == ["B-NEARLY-EVERY-DAY", "A-SEVERAL-DAYS"]


def test_with_equal_answers_more_flags_come_first(team, trajectory):
    therapist = team["therapist"]
    risk_client(therapist, "A-SAFETY-ONLY", raised_days_ago=0)
    # PHQ-9 totals of 12-13 answer item 9 "Several days" (1) too, like A; B's alliance fell.
    trajectory(therapist, "B-ALSO-RUPTURED", alliance=[36, 36, 36, 20], phq9=[12, 12, 12, 13])
    assert order(therapist) == ["B-ALSO-RUPTURED", "A-SAFETY-ONLY"]


def test_otherwise_the_newest_alert_comes_first_never_the_record_number(team):
    therapist = team["therapist"]
    risk_client(therapist, "A-THREE-DAYS", raised_days_ago=3)
    risk_client(therapist, "B-TODAY", raised_days_ago=0)
    risk_client(therapist, "C-A-WEEK", raised_days_ago=7)
    assert order(therapist) == ["B-TODAY", "A-THREE-DAYS", "C-A-WEEK"]


# --- the supervisor's team page ---------------------------------------------------------


def test_team_page_lists_open_safety_alerts_oldest_first_for_the_own_team_only(client, team):
    organisation = team["therapist"].organisation
    other_supervisor = make_user(organisation, "supervisor", first_name="Other")
    outsider = make_user(organisation, supervisor=other_supervisor, last_name="Elsewhere")
    colleague = make_user(organisation, supervisor=team["supervisor"], last_name="Nguyen")
    risk_client(team["therapist"], "T-NEW", raised_days_ago=1)
    risk_client(colleague, "T-OLD-ACKED", raised_days_ago=6, acknowledged=True)
    risk_client(outsider, "X-NOT-MINE", raised_days_ago=9)
    login_verified(client, team["supervisor"])
    page = client.get(reverse("team")).content.decode()
    section = page[page.index('id="team-open-safety"') : page.index("</section>")]
    assert "X-NOT-MINE" not in page
    assert section.index("T-OLD-ACKED") < section.index("T-NEW")
    old_row = section[section.index("T-OLD-ACKED") :].split("</tr>")[0]
    new_row = section[section.index("T-NEW") :].split("</tr>")[0]
    assert "Nguyen" in old_row and "Yes, by" in old_row and "PHQ-9 item 9, session 2" in old_row
    assert str(team["therapist"]) in new_row and "Not yet" in new_row
    assert "critical:" not in page


def test_team_page_names_a_blank_risk_item_and_says_there_is_nothing_to_acknowledge(client, team):
    # Seen in the demo as "A risk item … Not yet" for days: item 9 left blank is no
    # answer to acknowledge; the next check-in (or the next contact) settles it.
    episode = make_episode(team["therapist"], record_number="T-BLANK", sessions=1)
    phq9 = instruments()["phq9"]
    add_answers(episode.sessions.get(number=1), phq9, dict.fromkeys(phq9.scored_item_ids[:8], 1))
    login_verified(client, team["supervisor"])
    page = client.get(reverse("team")).content.decode()
    section = page[page.index('id="team-open-safety"') : page.index("</section>")]
    row = section[section.index("T-BLANK") :].split("</tr>")[0]
    assert "PHQ-9 item 9 not answered, session 1" in row
    assert "Nothing to acknowledge: ask about it at the next contact" in row
    assert "A risk item" not in row and "Not yet" not in row
