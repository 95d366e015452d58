"""A synthetic clinic's risk answers have the history a check-in gives them.

``rapport synth`` writes check-ins directly, so without this its risk answers would have
raised no alert and told nobody, and the demo would say "Nobody was notified of this
answer" on every one of them. They now carry an alert, its first notice, and for answers
older than two days a follow-up (rapport.checkin.synthetic).
"""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse

from rapport.checkin.acknowledgement import OUTCOMES
from rapport.checkin.models import Alert, MessageStatus, NoticeStep, SafetyNotice
from rapport.checkin.synthetic import FOLLOWED_UP_AFTER
from rapport.clinic.models import Administration, AdministrationStatus, Organisation
from rapport.security.access import active_caseload
from rapport.testing import PASSWORD, login_verified
from rapport.workspace.caseload import caseload

pytestmark = pytest.mark.django_db

ANCHOR = datetime.date(2026, 11, 2)


@pytest.fixture
def clinic() -> Organisation:
    call_command(
        "synth",
        clients=300,
        seed=5,
        org="history",
        anchor=ANCHOR,
        password=PASSWORD,
        no_progress=True,
    )
    return Organisation.objects.get(slug="history")


def test_every_risk_answer_raised_one_alert_when_it_came_in(clinic):
    answers = [
        (administration, code)
        for administration in Administration.objects.filter(
            session__episode__client__organisation=clinic, status=AdministrationStatus.COMPLETED
        ).select_related("session")
        for code in administration.flags
        if code.startswith("critical:")
    ]
    alerts = Alert.objects.filter(organisation=clinic)
    assert len(answers) > 5 and alerts.count() == len(answers)
    for administration, code in answers:
        alert = alerts.get(session=administration.session, code=code)
        assert alert.raised_at == administration.completed_at
        assert alert.construct == administration.construct


def test_older_answers_were_followed_up_in_time_by_whoever_follows_them_up(clinic):
    today = datetime.datetime.combine(ANCHOR, datetime.time(23, 59), tzinfo=datetime.UTC)
    alerts = Alert.objects.filter(organisation=clinic).select_related("episode__therapist")
    older = [alert for alert in alerts if alert.raised_at < today - FOLLOWED_UP_AFTER]
    newer = [alert for alert in alerts if alert.raised_at >= today - FOLLOWED_UP_AFTER]
    assert older and newer
    assert all(alert.acknowledged_at is None for alert in newer)
    for alert in older:
        therapist = alert.episode.therapist
        expected = therapist.supervisor if alert.about_the_relationship else therapist
        assert alert.acknowledged_by == expected
        delay = alert.acknowledged_at - alert.raised_at
        assert datetime.timedelta(0) < delay < datetime.timedelta(hours=2)
        assert alert.contact_method and alert.acknowledgement_note == ""
        assert alert.risk_outcome in OUTCOMES[alert.about_the_relationship]


def test_each_alert_told_whom_its_route_tells_until_it_was_followed_up(clinic):
    alerts = Alert.objects.filter(organisation=clinic).select_related("episode__therapist")
    for alert in alerts:
        therapist = alert.episode.therapist
        notices = SafetyNotice.objects.filter(alert=alert).order_by("scheduled_for", "pk")
        first = notices[0]
        if alert.about_the_relationship:
            assert (first.step, first.recipient) == (NoticeStep.SUPERVISOR, therapist.supervisor)
        else:
            assert (first.step, first.recipient) == (NoticeStep.THERAPIST, therapist)
        assert first.status == MessageStatus.SENT and first.sent_at > alert.raised_at
        if alert.acknowledged_at is not None:
            # Followed up within the first interval: nobody else was due to be told.
            assert notices.count() == 1
    # An answer left open past both intervals went up the route: its supervisor was told,
    # and the fallback step was skipped, with its reason, as the clinic has no contact set.
    open_long = [a for a in alerts if a.acknowledged_at is None and a.notices.count() > 2]
    assert open_long
    steps = list(open_long[0].notices.values_list("step", "status", "last_error"))
    assert steps[-1] == (NoticeStep.FALLBACK, MessageStatus.SKIPPED, "no fallback contact set")


def test_the_client_page_no_longer_says_nobody_was_notified(client, clinic):
    open_alert = (
        Alert.objects.filter(organisation=clinic, acknowledged_at=None, code="critical:phq9_9")
        .select_related("episode__therapist")
        .first()
    )
    therapist = open_alert.episode.therapist
    rows = caseload(active_caseload(therapist), therapist).rows
    assert any(row.awaiting_acknowledgement for row in rows)
    login_verified(client, therapist)
    page = client.get(reverse("client-detail", args=[open_alert.client.public_id]))
    assert "Nobody was notified" not in page.content.decode()
