"""Which episodes of care an insight computation covers: the whole clinic, or part of it.

A scope narrows the clinic by three independent conditions, each optional:

* a period of whole calendar months: the episodes that were open at some time in it
  (started on or before its last day, and not ended before its first day). Each
  episode's figures still use all of its check-ins, so change is measured from an
  episode's first to its last score, as on the unfiltered pages;
* a site: the episodes of the site's clients;
* therapists: the episodes held by these therapists (one therapist, or a supervisor's
  team).

Who may narrow by what is the access layer's decision
(:func:`rapport.security.access.insight_filter_options`); this module only describes
the selection and turns it into a queryset.
"""

from __future__ import annotations

import calendar
import datetime
import itertools
from dataclasses import dataclass, replace

from django.db.models import Q, QuerySet

from rapport.clinic.models import Episode, Organisation


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def month_end(day: datetime.date) -> datetime.date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def quarter_months(day: datetime.date) -> tuple[datetime.date, datetime.date]:
    """The first days of the first and last month of the calendar quarter holding ``day``."""
    first = (day.month - 1) // 3 * 3 + 1
    return datetime.date(day.year, first, 1), datetime.date(day.year, first + 2, 1)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` after ``day``'s (before it when negative)."""
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def quick_periods(
    today: datetime.date, *, whole_years: bool = False
) -> list[tuple[str, datetime.date, datetime.date]]:
    """The periods the insight pages offer in one click, as (name, first month, last
    month): this quarter, last quarter and the last 12 months; or, for readers who choose
    whole years, the last three calendar years (named by the year)."""
    if whole_years:
        return [
            (str(year), datetime.date(year, 1, 1), datetime.date(year, 12, 1))
            for year in range(today.year, today.year - 3, -1)
        ]
    this_first, this_last = quarter_months(today)
    last_first, last_last = quarter_months(this_first - datetime.timedelta(days=1))
    return [
        ("this_quarter", this_first, this_last),
        ("last_quarter", last_first, last_last),
        ("last_12_months", add_months(month_start(today), -11), month_start(today)),
    ]


@dataclass(frozen=True)
class InsightScope:
    """Part of a clinic: a period of months, a site, a set of therapists (each optional).

    ``first_month`` and ``last_month`` are first days of months (both or neither);
    ``therapist_ids`` is ``None`` for every therapist.
    """

    first_month: datetime.date | None = None
    last_month: datetime.date | None = None
    site_id: int | None = None
    therapist_ids: frozenset[int] | None = None

    def __post_init__(self) -> None:
        if (self.first_month is None) != (self.last_month is None):
            raise ValueError("a period needs both its first and its last month")
        if self.first_month is not None and self.last_month is not None:
            if self.first_month.day != 1 or self.last_month.day != 1:
                raise ValueError("a period's months are given by their first days")
            if self.last_month < self.first_month:
                raise ValueError("a period cannot end before it starts")
        if self.therapist_ids is not None and not self.therapist_ids:
            raise ValueError("a scope of no therapists selects nothing; use None for all")

    @property
    def is_whole_clinic(self) -> bool:
        return self == WHOLE_CLINIC

    @property
    def key(self) -> str:
        """A stable text naming this scope (for caches)."""
        months = f"{self.first_month}..{self.last_month}" if self.first_month else "all"
        therapists = ",".join(map(str, sorted(self.therapist_ids))) if self.therapist_ids else "all"
        return f"months={months};site={self.site_id or 'all'};therapists={therapists}"

    @property
    def is_whole_years(self) -> bool:
        """No period, or a period of whole calendar years (January to December)."""
        if self.first_month is None or self.last_month is None:
            return True
        return self.first_month.month == 1 and self.last_month.month == 12

    def coarser(self) -> list[InsightScope]:
        """Every wider scope made by dropping some of this scope's conditions (the period,
        the site, the therapists), the whole clinic included; not this scope itself."""
        dropped = {
            "period": {"first_month": None, "last_month": None},
            "site": {"site_id": None},
            "therapists": {"therapist_ids": None},
        }
        present = [
            name
            for name, set_ in (
                ("period", self.first_month is not None),
                ("site", self.site_id is not None),
                ("therapists", self.therapist_ids is not None),
            )
            if set_
        ]
        wider = []
        for size in range(1, len(present) + 1):
            for names in itertools.combinations(present, size):
                changes: dict = {}
                for name in names:
                    changes.update(dropped[name])
                wider.append(replace(self, **changes))
        return wider

    def condition(self, prefix: str = "") -> Q:
        """This scope as a condition on episodes (``prefix`` leads to the episode, e.g.
        ``"session__episode__"``)."""
        condition = Q()
        if self.first_month is not None and self.last_month is not None:
            condition &= Q(**{f"{prefix}started_on__lte": month_end(self.last_month)})
            condition &= Q(**{f"{prefix}ended_on__isnull": True}) | Q(
                **{f"{prefix}ended_on__gte": self.first_month}
            )
        if self.site_id is not None:
            condition &= Q(**{f"{prefix}client__site_id": self.site_id})
        if self.therapist_ids is not None:
            condition &= Q(**{f"{prefix}therapist_id__in": sorted(self.therapist_ids)})
        return condition

    def episodes(self, organisation: Organisation) -> QuerySet[Episode]:
        """The organisation's episodes in this scope."""
        return Episode.objects.filter(self.condition(), client__organisation=organisation)


WHOLE_CLINIC = InsightScope()
