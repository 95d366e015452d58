"""Insight pages and their CSV downloads: aggregates of the user's own clinic.

Every view starts with ``get_insights_organisation`` (the one access decision, which also
writes the audit entry) and asks ``insight_disclosure`` whether this user gets exact or
small-cell protected figures on this channel (downloads are always protected); the
figures come from the cached snapshot (rapport.insights.snapshots), which holds
aggregates only.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from rapport.accounts.models import Role, User
from rapport.insights import profiles, snapshots
from rapport.insights.charts import page_charts
from rapport.insights.tables import csv_rows, display_rows
from rapport.insights.wording import translated_page
from rapport.security import params
from rapport.security.access import (
    Disclosure,
    InsightChannel,
    get_insights_organisation,
    get_therapist_profile_owner_or_404,
    insight_disclosure,
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
    """Supervisors and clinic admins see therapists' names; researchers keep pseudonyms."""
    if user.role == Role.RESEARCHER:
        return page
    names = {
        staff.pk: str(staff) for staff in User.objects.filter(organisation=user.organisation_id)
    }
    for stored in page["tables"]:
        for row in stored["rows"]:
            if row.get("therapist_id") in names:
                row["therapist"] = names[row["therapist_id"]]
    return page


def _page_data(request: HttpRequest, page: str, action: str, channel: InsightChannel):
    organisation = get_insights_organisation(request, action=action)
    disclosure = insight_disclosure(request.user, channel)
    snapshot = snapshots.current(organisation)
    figures, figures_at = snapshots.figures_for(snapshot, request.user, disclosure)
    # Stored wording is language-neutral: translate it for this reader, last of all.
    content = translated_page(_with_therapist_names(figures["pages"][page], request.user))
    return snapshot, figures_at, content, disclosure


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
        },
    )


@require_GET
def page(request: HttpRequest, page: str) -> HttpResponse:
    _snapshot, figures_at, content, disclosure = _page_data(
        request, page, "insights.view", InsightChannel.PAGE
    )
    tables = [
        {
            **stored,
            "display": display_rows(stored),
            "csv_name": stored["name"],
            "collapsed": len(stored["rows"]) > OPEN_TABLE_ROWS,
        }
        for stored in content["tables"]
    ]
    return render(
        request,
        "insights/page.html",
        {
            "page": page,
            "title": PAGES[page],
            "readings": content["readings"],
            "charts": page_charts(page, content),
            "tables": tables,
            "figures_at": figures_at,
            "exact": disclosure is Disclosure.EXACT,
            "csv_url_name": f"insights-{page.replace('_', '-')}-csv",
        },
    )


@require_GET
def download(request: HttpRequest, page: str) -> HttpResponse:
    """One table of the page as CSV (protected, formula-safe); ``?table=`` names it."""
    snapshot, _figures_at, content, _disclosure = _page_data(
        request, page, "insights.export", InsightChannel.DOWNLOAD
    )
    by_name = {stored["name"]: stored for stored in content["tables"]}
    stored = params.choice(request, "table", by_name, default=content["tables"][0]["name"])
    buffer = io.StringIO()
    safe_writer(buffer).writerows(csv_rows(stored))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    filename = f"{snapshot.organisation.slug}-{stored['name']}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_POST
def refresh(request: HttpRequest) -> HttpResponse:
    """Recompute the figures now (instead of waiting for the freshness limit)."""
    organisation = get_insights_organisation(request, action="insights.refresh")
    snapshots.refresh(organisation)
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
