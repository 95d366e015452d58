"""Worklist data: pending, overdue and expired check-ins through the access layer."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from rapport.checkin.models import CheckinLink
from rapport.checkin.worklist import clinic_counts, open_alerts_for, worklist_for
from rapport.testing import add_session, issue_checkin_link

pytestmark = pytest.mark.django_db


def test_states(clinics):
    now = timezone.now()
    upcoming = add_session(clinics.owner_episode, 3, status="scheduled")
    upcoming.scheduled_at = now + datetime.timedelta(days=1)
    upcoming.save()
    issued = issue_checkin_link(clinics.owner_episode)  # the upcoming session
    assert issued.link.session == upcoming
    work = worklist_for(clinics.owner, now)
    assert [(r.session_number, r.link_open) for r in work.pending] == [(3, True)]
    later = now + datetime.timedelta(days=2)
    assert [r.session_number for r in worklist_for(clinics.owner, later).overdue] == [3]
    CheckinLink.objects.update(expires_at=now + datetime.timedelta(hours=1))
    assert [r.state for r in worklist_for(clinics.owner, later).expired] == ["expired"]


def test_scope_follows_the_access_layer(clinics):
    issue_checkin_link(clinics.owner_episode)
    assert len(worklist_for(clinics.owner).pending + worklist_for(clinics.owner).overdue) == 1
    assert (
        len(worklist_for(clinics.supervisor).pending + worklist_for(clinics.supervisor).overdue)
        == 1
    )
    for other in [clinics.colleague, clinics.outsider, clinics.clinic_admin, clinics.researcher]:
        work = worklist_for(other)
        assert work.pending == work.overdue == work.expired == []


def test_clinic_counts_have_no_identities(clinics):
    issue_checkin_link(clinics.owner_episode)
    counts = clinic_counts(clinics.organisation)
    assert counts == {str(clinics.owner): {"overdue": 1}} or counts == {
        str(clinics.owner): {"pending": 1}
    }


def test_open_alerts(client, clinics):
    from rapport.checkin.tests.helpers import full_answers

    issued = issue_checkin_link(clinics.owner_episode)
    client.post(f"{issued.path}submit/", full_answers(phq9_item9=1))
    assert len(open_alerts_for(clinics.owner)) == 1
    assert open_alerts_for(clinics.colleague) == []
