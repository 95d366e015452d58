"""When a session may be scheduled: within its episode, and at a minute its therapist is free.

Sessions have no length, so "the same time" is the same minute: the scheduling form asks
for minutes, and two clients booked at 09:00 for one therapist is the mistake to catch.
"""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from rapport.clinic.models import Episode, Session, SessionStatus


def _minute(moment: datetime.datetime) -> datetime.datetime:
    return moment.replace(second=0, microsecond=0)


def session_time_problems(episode: Episode, times: list[datetime.datetime]) -> list[str]:
    """Why sessions of ``episode`` at ``times`` cannot be scheduled; empty when they can.

    Each problem is a sentence naming the date, so a series can say which of its
    sessions is wrong. Clashes are looked for across the therapist's whole caseload, in
    one query; cancelled sessions do not count.
    """
    problems = []
    for moment in times:
        day = timezone.localdate(moment)
        if day < episode.started_on:
            problems.append(
                _("the episode began on %(date)s; a session cannot be before it.")
                % {"date": date_format(episode.started_on, _("j M Y"))}
            )
        elif episode.ended_on and day > episode.ended_on:
            problems.append(
                _("the episode ended on %(date)s; a session cannot be after it.")
                % {"date": date_format(episode.ended_on, _("j M Y"))}
            )
    if not times:
        return problems
    wanted = {_minute(moment) for moment in times}
    taken = (
        Session.objects.filter(
            episode__therapist_id=episode.therapist_id,
            scheduled_at__gte=min(wanted),
            scheduled_at__lt=max(wanted) + datetime.timedelta(minutes=1),
        )
        .exclude(status=SessionStatus.CANCELLED)
        .values_list("scheduled_at", flat=True)
    )
    for moment in sorted({_minute(at) for at in taken} & wanted):
        local = timezone.localtime(moment)
        problems.append(
            _("you already have a session on %(date)s at %(time)s.")
            % {"date": date_format(local, _("j M Y")), "time": date_format(local, "H:i")}
        )
    return problems
