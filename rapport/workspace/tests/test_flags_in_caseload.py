"""Flags on the caseload from hand-built trajectories stored in the database."""

import pytest
from django.test import override_settings
from django.urls import reverse

from rapport.checkin.models import Alert, AlertKind, CheckinPreference
from rapport.clinic.models import TrustAnswersAudience
from rapport.security.access import active_caseload
from rapport.testing import login_verified, make_organisation, make_user
from rapport.workspace.caseload import caseload
from rapport.workspace.records import flag_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist():
    supervisor = make_user(make_organisation(), "supervisor")
    return make_user(supervisor.organisation, supervisor=supervisor)


def rows_by_record(therapist):
    rows = caseload(active_caseload(therapist), therapist).rows
    return {row.episode.client.record_number: row for row in rows}


def test_unsafe_and_ruptured_client_shows_safety_first(therapist, trajectory):
    trajectory(therapist, "R-BOTH", alliance=[36, 35, 36, 24], phq9=[14, 12, 12, 13], unsafe_at=4)
    row = rows_by_record(therapist)["R-BOTH"]
    assert [flag.name for flag in row.flags] == ["safety", "rupture"]
    assert row.flags[0].message.startswith("PHQ-9 item 9 answered")
    assert "Alliance fell from 36 to 24 since the last session" in row.flags[1].message
    assert row.urgency == 1


def test_stable_client_has_no_flags(therapist, trajectory):
    trajectory(therapist, "R-STABLE", trust=[6, 6, 6], alliance=[35, 36, 35], phq9=[8, 7, 7])
    row = rows_by_record(therapist)["R-STABLE"]
    assert row.flags == []
    assert row.urgency == 6


def test_trust_drop_is_one_sentence_with_the_numbers(therapist, trajectory):
    trajectory(therapist, "R-TRUST", trust=[6, 6, 4])
    (flag,) = rows_by_record(therapist)["R-TRUST"].flags
    assert flag.message == "Trust fell from 6.0 to 4.0 since the last session."


def test_missed_sessions_raise_engagement(therapist, trajectory):
    statuses = ["attended", "attended", "missed", "cancelled"]
    trajectory(therapist, "R-GONE", trust=[6, 6], statuses=statuses)
    (flag,) = rows_by_record(therapist)["R-GONE"].flags
    assert flag.name == "engagement"
    assert flag.message == "Missed or cancelled the last 2 sessions."


def test_stopped_checkins_show_as_engagement_from_the_alert(therapist, trajectory):
    episode = trajectory(therapist, "R-STOP", trust=[6, 6])
    CheckinPreference.objects.create(client=episode.client, stopped_at="2026-02-01T10:00Z")
    Alert.objects.create(
        organisation=therapist.organisation,
        kind=AlertKind.CHECKINS_STOPPED,
        client=episode.client,
        episode=episode,
        raised_at="2026-02-01T10:00Z",
    )
    (flag,) = rows_by_record(therapist)["R-STOP"].flags
    assert flag.name == "engagement"
    assert "Stopped check-ins on 1 Feb 2026" in flag.message
    assert flag.acknowledgeable


def test_caseload_page_orders_clients_by_their_most_urgent_open_flag(client, therapist, trajectory):
    trajectory(therapist, "R-A-STABLE", trust=[6, 6])
    trajectory(therapist, "R-B-TRUST", trust=[6, 4])
    trajectory(therapist, "R-C-UNSAFE", phq9=[12, 13], unsafe_at=2)
    trajectory(therapist, "R-D-RUPTURE", alliance=[36, 36, 36, 20])
    login_verified(client, therapist)
    page = client.get(reverse("home")).content.decode()
    order = ["R-C-UNSAFE", "R-D-RUPTURE", "R-B-TRUST", "R-A-STABLE"]
    assert [page.index(record) for record in order] == sorted(page.index(r) for r in order)
    assert "Trust fell from 6.0 to 4.0 since the last session." in page
    # Trend arrows carry words for screen readers, not colour only.
    assert "down 2 since the previous check-in, worse" in page
    # The caption's ranges come from the instruments: the alliance is a 0-40 sum.
    dash = "\u2013"
    assert f"Session Alliance check-in 0{dash}40 (higher is better)" in page
    assert f"1{dash}7" in page and f"0{dash}27" in page


def test_acknowledged_safety_flag_is_not_open_but_the_risk_stays_in_the_safety_tier(
    therapist, trajectory
):
    episode = trajectory(therapist, "R-ACK", phq9=[12, 13], unsafe_at=2)
    Alert.objects.create(
        organisation=therapist.organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=episode.client,
        episode=episode,
        session=episode.sessions.get(number=2),
        code="critical:phq9_9",
        acknowledged_at="2026-02-01T10:00Z",
        acknowledged_by=therapist,
        acknowledgement_note="Called; safety plan in place.",
    )
    row = rows_by_record(therapist)["R-ACK"]
    assert row.flags[0].acknowledged and row.open_flags == []
    # Item 9 is still endorsed at the latest check-in: a "risk reviewed" marker keeps the
    # client in the safety tier (issue #16), below unacknowledged safety alerts.
    (marker,) = row.markers
    assert "Risk reviewed on 1 Feb 2026" in marker.message
    assert row.urgency == 1 and not row.awaiting_acknowledgement


def test_supervisors_only_clinic_hides_relationship_scores_from_the_therapist(
    client, therapist, trajectory
):
    organisation = therapist.organisation
    organisation.trust_answers_audience = TrustAnswersAudience.SUPERVISORS
    organisation.save()
    trajectory(therapist, "R-HIDDEN", trust=[6, 3], alliance=[36, 20])
    assert rows_by_record(therapist)["R-HIDDEN"].flags == []
    login_verified(client, therapist)
    page = client.get(reverse("home")).content.decode()
    assert "not shown" in page and "Trust fell" not in page
    supervisor = therapist.supervisor
    assert {flag.name for flag in rows_by_record(supervisor)["R-HIDDEN"].flags} == {
        "rupture",
        "trust",
    }


def test_a_clinic_rules_file_changes_the_thresholds(tmp_path, therapist, trajectory):
    rules = tmp_path / "rules.yaml"
    rules.write_text("schema: rapport-flag-rules/1\ntrust: {drop: 3.0, low: 2.0}\n")
    trajectory(therapist, "R-MILD", trust=[6, 4])
    flag_rules.cache_clear()
    try:
        with override_settings(FLAG_RULES_FILE=str(rules)):
            assert rows_by_record(therapist)["R-MILD"].flags == []
    finally:
        flag_rules.cache_clear()
    assert rows_by_record(therapist)["R-MILD"].flags[0].name == "trust"
