"""The quarterly trust report download (issue #20.7), beside the insight pages' views.

Like every insight view it starts with ``get_insights_organisation`` (the one access
decision, audited with the scope) and asks ``insight_disclosure`` which figures this
reader gets; a PDF leaves Rapport, so that is always the protected figures. The
quarter and team are read through the insight pages' filter
(:func:`rapport.insights.filters.selection`), so a team is offered, and its
therapists found, exactly as on the pages.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from rapport.accounts.models import User
from rapport.insights import filters, snapshots
from rapport.insights.quarterly import (
    Quarter,
    QuarterError,
    complete_quarter,
    last_complete_quarter,
    recent_quarters,
    trust_report,
)
from rapport.security.access import (
    InsightChannel,
    get_insights_organisation,
    insight_disclosure,
    insight_filter_options,
    insight_scope_refusal,
)
from rapport.workspace.report_fonts import MissingFontError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportChoices:
    """What the insights page offers for the quarterly report: (value, words) pairs."""

    quarters: list[tuple[str, str]]
    teams: list[tuple[str, str]]


def report_choices(user: User, today: datetime.date) -> ReportChoices | None:
    """The last complete quarters, newest first, and the teams ``user`` may narrow to;
    None for readers who choose whole calendar years only (researchers), who get no
    quarterly report."""
    options = insight_filter_options(user)
    if options.whole_years:
        return None
    teams: list[tuple[str, str]] = []
    if options.teams:
        # The teams in the insight filter's own words (skipping its "All teams").
        choices = filters.InsightFilterForm(QueryDict(), options)["team"]
        teams = [(str(c.data["value"]), c.choice_label) for c in choices if c.data["value"]]
    quarters = [(str(quarter), quarter.words()) for quarter in recent_quarters(today)]
    return ReportChoices(quarters=quarters, teams=teams)


def _plain(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@require_GET
def quarterly_report(request: HttpRequest) -> HttpResponse:
    """The quarterly trust report (PDF) of the clinic or of one team.

    ``?quarter=2026-Q3`` (default: the last complete quarter) and ``team=<supervisor
    public_id>`` (default: the whole clinic; only a team the reader's filter options
    offer). Bad input is a 400 naming what is wrong.
    """
    reader = request.user
    if not isinstance(reader, User):
        raise PermissionDenied  # the staff gate lets only signed-in members reach this
    today = timezone.localdate()
    problem = ""
    quarter: Quarter | None = None
    try:
        text = request.GET.get("quarter", "")
        quarter = complete_quarter(text, today) if text else last_complete_quarter(today)
    except QuarterError as error:
        problem = str(error)
    query = QueryDict(mutable=True)
    if quarter is not None:
        query["from"] = filters.month_value(quarter.first_month)
        query["to"] = filters.month_value(quarter.last_month)
    options = insight_filter_options(reader)
    if options.whole_years:
        # Quarters are finer than researchers' whole years (docs/insights.md, "Filters"):
        # the report is a clinic-management document for supervisors and clinic admins.
        get_insights_organisation(request, action="insights.report")
        message = _(
            "The quarterly report is for supervisors and clinic admins. Researchers see "
            "whole calendar years on the insight pages."
        )
        return _plain(message, status=403)
    if request.GET.get("team"):
        query["team"] = request.GET["team"]
        if not options.teams:
            # The filter form has no team field for this reader, and would ignore it.
            problem = _("No team is offered to you: choose the whole clinic.")
    selection = filters.selection(query, options)
    organisation = get_insights_organisation(
        request, action="insights.report", scope=list(selection.audit_tokens)
    )
    if problem or quarter is None or not selection.valid:
        errors = [problem] if problem else []
        errors += [str(e) for field in selection.form.errors.values() for e in field]
        return _plain("\n".join(errors), status=400)
    refusal = insight_scope_refusal(reader, selection.scope)
    if refusal is not None:
        return _plain(_(refusal), status=400)
    disclosure = insight_disclosure(reader, InsightChannel.DOWNLOAD, selection.scope)
    snapshot = snapshots.for_scope(organisation, selection.scope)
    figures, figures_at = snapshots.figures_for(snapshot, reader, disclosure, selection.scope)
    team = selection.form.cleaned_data["team_user"]
    # The filter describes the period first, then the team ("Team of ...") if any.
    scope_words = selection.described[-1] if team else _("Whole clinic")
    try:
        pdf = trust_report(
            clinic=organisation.name,
            quarter=quarter,
            scope_words=scope_words,
            figures=figures,
            figures_at=figures_at,
            reader=reader,
        )
    except MissingFontError as error:
        # A server without the font packages: say so, in one log line naming no text.
        logger.warning("Quarterly report not made: no font for %s", ", ".join(error.scripts))
        return _plain(str(error), status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    suffix = "-team" if team else ""
    filename = f"{organisation.slug}-trust-report-{quarter}{suffix}.pdf"
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.")
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response
