"""What a demo user sees: ``rapport demo`` seeds a clinic in which every caseload flag tier
and both kinds of open check-in have something to show (issue #17)."""

from __future__ import annotations

import io
from collections import Counter

import pytest
from django.core.management import call_command

from rapport.accounts.models import User
from rapport.alerts import FlagKind
from rapport.checkin.worklist import worklist_for
from rapport.insights.models import ExpectedResponseFit
from rapport.security.access import active_caseload
from rapport.workspace.caseload import caseload

pytestmark = pytest.mark.django_db


def test_the_demo_clinic_shows_every_flag_tier_and_open_check_ins():
    output = io.StringIO()
    call_command("demo", no_serve=True, stdout=output)
    assert "Expected treatment response fitted for PHQ-9" in output.getvalue()
    assert "quantile regression" in output.getvalue()  # not the reliable-change fallback
    assert ExpectedResponseFit.objects.count() == 1

    tiers, checkins, worklist_rows = Counter(), Counter(), Counter()
    for therapist in User.objects.filter(role="therapist"):
        shown = caseload(active_caseload(therapist), therapist)
        assert shown.etr_available  # the caseload does not say "not on track" is off
        for row in shown.rows:
            tiers[row.urgency] += 1
            checkins[row.checkin] += 1
        worklist = worklist_for(therapist)
        worklist_rows.update(pending=len(worklist.pending), overdue=len(worklist.overdue))

    for tier in FlagKind:
        assert tiers[tier] >= 1, f"no client in the {tier.name} tier: {tiers}"
    assert checkins["pending"] >= 10 and checkins["overdue"] >= 5
    assert worklist_rows["pending"] >= 10 and worklist_rows["overdue"] >= 5


def test_a_second_run_keeps_the_fitted_model():
    first = io.StringIO()
    call_command("demo", no_serve=True, clients=60, therapists=2, stdout=first)
    # Too few completed episodes for percentile bands: the fallback, said so.
    assert "reliable-change fallback" in first.getvalue()
    assert ExpectedResponseFit.objects.count() == 1
    second = io.StringIO()
    call_command("demo", no_serve=True, stdout=second)
    assert "already seeded" in second.getvalue()
    assert "Expected treatment response" not in second.getvalue()
    assert ExpectedResponseFit.objects.count() == 1
