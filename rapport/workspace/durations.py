"""One way to write a duration for people: "5 days, 17 hours", "3 hours, 5 minutes".

Time to acknowledge an alert is read side by side across the team view; "137.9 h" in one
column and "5 days, 17 hours" in the next made the same wait look like two. The two
largest units are enough to compare waits; the rest is truncated, not rounded, so an
alert is never shown as acknowledged sooner than it was.
"""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def duration_text(delta: datetime.timedelta) -> str:
    """``delta`` in its two largest whole units (days and hours, or hours and minutes).

    Raises ``ValueError`` for a negative duration: an alert acknowledged before it was
    raised is a data error to show, not a duration to print.
    """
    seconds = int(delta.total_seconds())
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative ({delta})")
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, HOUR)
    minutes = rest // MINUTE
    if days:
        parts = [ngettext("%d day", "%d days", days) % days]
        if hours:
            parts.append(ngettext("%d hour", "%d hours", hours) % hours)
    elif hours:
        parts = [ngettext("%d hour", "%d hours", hours) % hours]
        if minutes:
            parts.append(ngettext("%d minute", "%d minutes", minutes) % minutes)
    elif minutes:
        parts = [ngettext("%d minute", "%d minutes", minutes) % minutes]
    else:
        return _("less than a minute")
    return ", ".join(parts)
