"""``{{ start|duration:end }}``: :func:`rapport.workspace.durations.duration_text` in
templates; without ``end``, the time since ``start``."""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone

from rapport.workspace.durations import duration_text

register = template.Library()


@register.filter
def duration(start: datetime.datetime | datetime.timedelta, end: datetime.datetime | None = None):
    """A timedelta, or the time from ``start`` to ``end`` (now when not given)."""
    if isinstance(start, datetime.timedelta):
        return duration_text(start)
    return duration_text((end or timezone.now()) - start)
