"""Insight pages and their CSV downloads: aggregates of the user's own clinic.

Every view starts with ``get_insights_organisation`` (the one access decision, which also
writes the audit entry, with the filter applied) and asks ``insight_disclosure`` whether
this user gets exact or small-cell protected figures for this filter on this channel
(downloads are always protected); the figures come from the cached snapshot or filtered
computation (rapport.insights.snapshots), which hold aggregates only. The filter is read
from the URL within the user's filter options (rapport.insights.filters).
"""

from __future__ import annotations

import datetime
import io
import uuid
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from rapport.accounts.models import User
from rapport.insights import filters, profiles, snapshots
from rapport.insights.charts import page_charts
from rapport.insights.models import InsightSnapshot
from rapport.insights.report_views import report_choices
from rapport.insights.tables import csv_rows, display_rows
from rapport.insights.wording import translated_page
from rapport.operations.jobs import queue_insight_views
from rapport.security import params
from rapport.security.access import (
    Disclosure,
    InsightChannel,
    get_insights_organisation,
    get_therapist_profile_owner_or_404,
    insight_disclosure,
    insight_filter_options,
    insight_scope_refusal,
    insight_therapist_names,
)
from rapport.security.csv_safety import safe_writer

# Tables longer than this start collapsed under their title, so the readings and the
# charts answer the page's question in the first screenful.
OPEN_TABLE_ROWS = 6

PAGES = {
    "instruments": gettext_lazy("Instrument health"),
    "trust_alliance": gettext_lazy("Trust & alliance"),
    "outcomes": gettext_lazy("Outcomes"),
    "equity": gettext_lazy("Equity"),
}


def _with_therapist_names(page: dict[str, Any], user: User) -> dict[str, Any]:
    """The page with therapists' names on their rows where ``user`` sees them by name
    (:func:`~rapport.security.access.insight_therapist_names`)."""
    shown = {row.get("therapist_id") for stored in page["tables"] for row in stored["rows"]}
    shown.discard(None)
    names = insight_therapist_names(user, shown)
    if not names:
        return page
    for stored in page["tables"]:
        for row in stored["rows"]:
            if row.get("therapist_id") in names:
                row["therapist"] = names[row["therapist_id"]]
    return page


def _page_url(page: str, selection: filters.Selection) -> str:
    url = reverse(f"insights-{page.replace('_', '-')}")
    return f"{url}?{selection.query}" if selection.query else url


@dataclass(frozen=True)
class PageData:
    """One page's figures as this reader gets them, for the filter they asked for."""

    snapshot: InsightSnapshot
    figures: dict[str, Any]
    figures_at: datetime.datetime
    content: dict[str, Any]
    disclosure: Disclosure


def _page_data(
    request: HttpRequest, page: str, action: str, channel: InsightChannel
) -> tuple[filters.Selection, PageData | None]:
    """The filter, and (when it is valid) the figures of ``page`` this reader gets."""
    selection = filters.selection(request.GET, insight_filter_options(request.user))
    organisation = get_insights_organisation(
        request, action=action, scope=list(selection.audit_tokens)
    )
    if not selection.valid:
        return selection, None
    refusal = insight_scope_refusal(request.user, selection.scope)
    if refusal is not None:
        selection.form.add_error(None, gettext(refusal))
        return selection, None
    disclosure = insight_disclosure(request.user, channel, selection.scope)
    snapshot, figures, figures_at = snapshots.page_figures(
        organisation, request.user, disclosure, selection.scope, page
    )
    # Stored wording is language-neutral: translate it for this reader, last of all.
    content = translated_page(_with_therapist_names(figures["pages"][page], request.user))
    return selection, PageData(snapshot, figures, figures_at, content, disclosure)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """What each insight page shows, and when the figures were computed."""
    organisation = get_insights_organisation(request, action="insights.view")
    disclosure = insight_disclosure(request.user, InsightChannel.PAGE)
    snapshot = snapshots.current(organisation)
    figures, figures_at = snapshots.figures_for(snapshot, request.user, disclosure)
    return render(
        request,
        "insights/index.html",
        {
            "snapshot": snapshot,
            "figures": figures,
            "figures_at": figures_at,
            "exact": disclosure is Disclosure.EXACT,
            "pages": PAGES,
            "max_age_hours": round(snapshots.max_age().total_seconds() / 3600),
            "report": report_choices(request.user, timezone.localdate()),
        },
    )


@require_GET
def page(request: HttpRequest, page: str) -> HttpResponse:
    selection, data = _page_data(request, page, "insights.view", InsightChannel.PAGE)
    context: dict[str, Any] = {
        "page": page,
        "title": PAGES[page],
        "pages": PAGES,
        "filter": selection,
        "page_links": [
            (label, _page_url(name, selection)) for name, label in PAGES.items() if name != page
        ],
        "presets": filters.presets(
            timezone.localdate(),
            selection,
            whole_years=selection.form.options.whole_years,
        ),
        "csv_url_name": f"insights-{page.replace('_', '-')}-csv",
    }
    if data is None:
        return render(request, "insights/page.html", context, status=400)
    content = data.content
    tables = [
        {
            **stored,
            "display": display_rows(stored),
            "csv_name": stored["name"],
            "collapsed": len(stored["rows"]) > OPEN_TABLE_ROWS,
        }
        for stored in content["tables"]
    ]
    context.update(
        {
            "readings": content["readings"],
            "charts": page_charts(page, content),
            "tables": tables,
            "figures_at": data.figures_at,
            "figures": data.figures,
            "exact": data.disclosure is Disclosure.EXACT,
        }
    )
    return render(request, "insights/page.html", context)


@require_GET
def download(request: HttpRequest, page: str) -> HttpResponse:
    """One table of the page as CSV (protected, formula-safe); ``?table=`` names it and
    the page's filter parameters narrow it as on the page."""
    selection, data = _page_data(request, page, "insights.export", InsightChannel.DOWNLOAD)
    if data is None:
        return HttpResponse(
            "\n".join(str(e) for e in selection.form.errors.values()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    tables = data.content["tables"]
    by_name = {stored["name"]: stored for stored in tables}
    stored = params.choice(request, "table", by_name, default=tables[0]["name"])
    buffer = io.StringIO()
    safe_writer(buffer).writerows(csv_rows(stored))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    suffix = "-filtered" if selection.query else ""
    filename = f"{data.snapshot.organisation.slug}-{stored['name']}{suffix}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Recompute the clinic's figures now (instead of waiting for the freshness limit);
    the worker then stores the filtered views the pages link to."""
    organisation = get_insights_organisation(request, action="insights.refresh")
    queue_insight_views(snapshots.refresh(organisation))
    return redirect("insights")


@require_GET
def therapist_profile(request: HttpRequest, public_id: uuid.UUID | None = None) -> HttpResponse:
    """One therapist's relationship profile against the clinic: theirs or their supervisor's.

    Never a list of therapists: the page shows one therapist, reached from the
    therapist's own menu or from their supervisor's team page.
    """
    therapist = get_therapist_profile_owner_or_404(request, public_id)
    profile = profiles.therapist_profile(therapist.organisation, therapist.pk)
    return render(
        request,
        "insights/therapist_profile.html",
        {"therapist": therapist, "profile": profile, "own": therapist.pk == request.user.pk},
    )
