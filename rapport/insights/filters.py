"""The insight pages' filter: period, site, team and therapist, read from the URL.

The filter lives in the query string (``?from=2026-01&to=2026-03&site=…&team=…&therapist=…``)
so a filtered view can be bookmarked and shared; a colleague opening the link gets it
only within their own filter options (:func:`rapport.security.access.insight_filter_options`),
and an option outside them is a form error, never a wider view.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django import forms
from django.forms.utils import flatatt
from django.http import QueryDict
from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from rapport.accounts.models import User
from rapport.insights.scope import WHOLE_CLINIC, InsightScope, quick_periods
from rapport.security.access import InsightFilterOptions

FIELDS = ("from", "to", "site", "team", "therapist")
_MONTH = re.compile(r"(\d{4})-(\d{2})")


def _month(value: str) -> datetime.date:
    """The first day of the month ``YYYY-MM``; a clear error otherwise."""
    match = _MONTH.fullmatch(value.strip())
    if match is None:
        raise forms.ValidationError(_("Enter a month as year and month, e.g. 2026-03."))
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < 1900:
        raise forms.ValidationError(_("Enter a month as year and month, e.g. 2026-03."))
    return datetime.date(year, month, 1)


def _whole_years(months: dict[str, datetime.date]) -> bool:
    return months["from"].month == 1 and months["to"].month == 12


def month_value(day: datetime.date) -> str:
    return f"{day:%Y-%m}"


class LongSelect(forms.Select):
    """A drop-down rendered in one pass. Django renders each option through a template of
    its own, which for the thousands of therapists of a large clinic took longer than the
    rest of the page; the HTML is the same. Flat choices only (no option groups)."""

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        selected = "" if value is None else str(value)
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (choice, mark_safe(" selected") if str(choice) == selected else "", label)
                for choice, label in self.choices
            ),
        )
        select_attrs = {**self.build_attrs(self.attrs, attrs), "name": name}
        return format_html("<select{}>{}</select>", flatatt(select_attrs), options)


class InsightFilterForm(forms.Form):
    """The filter as the page shows it; choices are the reader's filter options."""

    # "from" is a Python keyword, so the fields are added under their URL names below.
    def __init__(self, data: QueryDict, options: InsightFilterOptions) -> None:
        super().__init__(data)
        self.options = options
        self.fields["from"] = forms.CharField(
            label=_("From (month)"), required=False, widget=forms.TextInput({"type": "month"})
        )
        self.fields["to"] = forms.CharField(
            label=_("To (month)"), required=False, widget=forms.TextInput({"type": "month"})
        )
        self.fields["site"] = forms.ChoiceField(
            label=_("Site"),
            required=False,
            widget=LongSelect,
            choices=[("", _("All sites")), *((str(s.pk), s.name) for s in options.sites)],
        )
        if options.teams:
            self.fields["team"] = forms.ChoiceField(
                label=_("Team"),
                required=False,
                widget=LongSelect,
                choices=[("", _("All teams")), *_people(options.teams, team=True)],
            )
        if options.therapists:
            self.fields["therapist"] = forms.ChoiceField(
                label=_("Therapist"),
                required=False,
                widget=LongSelect,
                choices=[("", _("All therapists")), *_people(options.therapists)],
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A shared link may carry a filter this reader is not offered (a researcher opening
        # a supervisor's team view): say so, rather than silently showing a wider view.
        for name, label in (("team", _("Team")), ("therapist", _("Therapist"))):
            if name not in self.fields and self.data.get(name):
                self.add_error(
                    None,
                    gettext("%(filter)s: this filter is not available to you.") % {"filter": label},
                )
        # Before add_error() below drops a malformed month from cleaned_data.
        given = [name for name in ("from", "to") if cleaned.get(name)]
        months: dict[str, datetime.date] = {}
        for name in ("from", "to"):
            if cleaned.get(name):
                try:
                    months[name] = _month(cleaned[name])
                except forms.ValidationError as error:
                    self.add_error(name, error)
        if len(given) == 1:
            missing = "to" if given == ["from"] else "from"
            self.add_error(missing, _("Give both the first and the last month of the period."))
        if len(months) == 2 and months["to"] < months["from"]:
            self.add_error("to", _("The last month cannot come before the first."))
        elif len(months) == 2 and self.options.whole_years and not _whole_years(months):
            self.add_error(
                None,
                _("Researchers choose periods of whole calendar years: from January to December."),
            )
        cleaned["months"] = months
        team, therapist = (
            self._person("team", self.options.teams),
            self._person("therapist", self.options.therapists),
        )
        if team is not None and therapist is not None and therapist.supervisor_id != team.pk:
            self.add_error(
                "therapist",
                gettext("%(therapist)s is not in %(team)s's team.")
                % {"therapist": therapist, "team": team},
            )
        cleaned["team_user"], cleaned["therapist_user"] = team, therapist
        return cleaned

    def _person(self, name: str, people: tuple[User, ...]) -> User | None:
        value = self.cleaned_data.get(name)
        return next((p for p in people if str(p.public_id) == value), None) if value else None


def _people(people: tuple[User, ...], *, team: bool = False) -> list[tuple[str, str]]:
    """(public id, words) for each person; people who share a name (a large clinic has
    two Alex Garcias) are told apart by their usernames."""
    names = [str(p) for p in people]
    shared = {name for name, count in Counter(names).items() if count > 1}
    names = [
        f"{name} ({p.username})" if name in shared else name
        for name, p in zip(names, people, strict=True)
    ]
    if team:
        label = gettext("Team of %(supervisor)s")
        names = [label % {"supervisor": name} for name in names]
    return [(str(p.public_id), name) for p, name in zip(people, names, strict=True)]


@dataclass(frozen=True)
class Selection:
    """The filter a page was asked for: its form, the scope, and words describing it."""

    form: InsightFilterForm
    scope: InsightScope
    # Human words for what is selected, e.g. ["January 2026 to March 2026", "Site: North"].
    described: tuple[str, ...]
    # name=value tokens for the audit trail (ids, never names).
    audit_tokens: tuple[str, ...]
    # The query string that reproduces the filter ("" when unfiltered), for links.
    query: str

    @property
    def valid(self) -> bool:
        return self.form.is_valid()


def selection(data: QueryDict, options: InsightFilterOptions) -> Selection:
    """Read the filter from ``data`` (the request's GET) within ``options``.

    An invalid filter gives a selection with form errors and the whole-clinic scope; the
    page then shows the errors instead of any figures.
    """
    form = InsightFilterForm(data, options)
    if not form.is_valid():
        return Selection(form, WHOLE_CLINIC, (), (), "")
    cleaned = form.cleaned_data
    months = cleaned["months"]
    described: list[str] = []
    tokens: list[str] = []
    query = QueryDict(mutable=True)
    first = last = None
    if months:
        first, last = months["from"], months["to"]
        described.append(period_words(first, last))
        tokens += [f"from={month_value(first)}", f"to={month_value(last)}"]
        query["from"], query["to"] = month_value(first), month_value(last)
    site_id = int(cleaned["site"]) if cleaned.get("site") else None
    if site_id is not None:
        site = next(s for s in options.sites if s.pk == site_id)
        described.append(gettext("Site: %(site)s") % {"site": site.name})
        tokens.append(f"site={site_id}")
        query["site"] = str(site_id)
    therapist_ids: frozenset[int] | None = None
    team, therapist = cleaned["team_user"], cleaned["therapist_user"]
    if team is not None:
        members = frozenset(t.pk for t in options.therapists if t.supervisor_id == team.pk)
        # A team without therapists selects nothing; id 0 is never an account.
        therapist_ids = members or frozenset({0})
        described.append(gettext("Team of %(supervisor)s") % {"supervisor": team})
        tokens.append(f"team={team.pk}")
        query["team"] = str(team.public_id)
    if therapist is not None:
        therapist_ids = frozenset({therapist.pk})
        described.append(gettext("Therapist: %(therapist)s") % {"therapist": therapist})
        tokens.append(f"therapist={therapist.pk}")
        query["therapist"] = str(therapist.public_id)
    scope = InsightScope(first, last, site_id, therapist_ids)
    return Selection(form, scope, tuple(described), tuple(tokens), query.urlencode())


def period_words(first: datetime.date, last: datetime.date) -> str:
    """ "March 2026", or "January 2026 to March 2026", in the reader's language."""
    first_words = formats.date_format(first, "YEAR_MONTH_FORMAT")
    if first == last:
        return first_words
    last_words = formats.date_format(last, "YEAR_MONTH_FORMAT")
    return gettext("%(first)s to %(last)s") % {"first": first_words, "last": last_words}


def presets(
    today: datetime.date, current: Selection, *, whole_years: bool = False
) -> list[tuple[str, str]]:
    """The quick periods (:func:`~rapport.insights.scope.quick_periods`) as (label, query
    string), keeping the rest of the current filter."""
    labels = {
        "this_quarter": gettext("This quarter"),
        "last_quarter": gettext("Last quarter"),
        "last_12_months": gettext("Last 12 months"),
    }
    links = []
    for name, first, last in quick_periods(today, whole_years=whole_years):
        query = QueryDict(current.query, mutable=True)
        query["from"], query["to"] = month_value(first), month_value(last)
        links.append((labels.get(name, name), query.urlencode()))
    return links
