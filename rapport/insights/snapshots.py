"""Cached insight pages per organisation, and the freshness rule.

Pages are served from the newest :class:`InsightSnapshot` of the organisation. A snapshot
older than ``INSIGHTS_MAX_AGE`` (settings, default 24 hours) is recomputed when a page is
opened; ``rapport insights refresh`` (e.g. nightly from cron) and the "Refresh now" button
recompute at once. Each page shows when its figures were computed.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from rapport.clinic.models import Organisation
from rapport.insights import reports
from rapport.insights.models import InsightSnapshot

DEFAULT_MAX_AGE = datetime.timedelta(hours=24)


def max_age() -> datetime.timedelta:
    return getattr(settings, "INSIGHTS_MAX_AGE", DEFAULT_MAX_AGE)


def refresh(organisation: Organisation) -> InsightSnapshot:
    """Compute the organisation's insights now, store them and drop older snapshots."""
    computed = reports.compute(organisation)
    with transaction.atomic():
        snapshot = InsightSnapshot.objects.create(
            organisation=organisation, seconds=computed.pop("seconds"), data=computed
        )
        InsightSnapshot.objects.filter(organisation=organisation).exclude(pk=snapshot.pk).delete()
    return snapshot


def current(organisation: Organisation) -> InsightSnapshot:
    """The newest snapshot if it is fresh enough, else a newly computed one."""
    snapshot = (
        InsightSnapshot.objects.filter(organisation=organisation).order_by("-computed_at").first()
    )
    if snapshot is None or timezone.now() - snapshot.computed_at > max_age():
        return refresh(organisation)
    return snapshot
