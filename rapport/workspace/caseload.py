"""The rows of a therapist's caseload, built in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery

from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Episode,
    SessionStatus,
)

# The headline score for each column of the caseload table.
HEADLINE_INSTRUMENTS = {"trust": "rapport_trust", "alliance": "rapport_alliance", "outcome": "phq9"}
# ?sort= keys the caseload accepts (rapport.security.params.ordering) and what they sort by.
SORT_KEYS = {
    "record": "client__record_number",
    "started": "started_on",
    **{column: f"latest_{column}" for column in HEADLINE_INSTRUMENTS},
}


def _latest_total(instrument_id: str) -> Subquery:
    latest = (
        Administration.objects.filter(
            session__episode=OuterRef("pk"),
            instrument_id=instrument_id,
            status=AdministrationStatus.COMPLETED,
        )
        .order_by("-session__number")
        .values("total")[:1]
    )
    return Subquery(latest)


def with_latest_scores(
    episodes: QuerySet[Episode], order: str = "client__record_number"
) -> QuerySet[Episode]:
    """Annotate each episode with sessions attended and its latest headline scores.

    ``order`` is one of the values of :data:`SORT_KEYS`, optionally with a leading ``-``;
    episodes without a score sort last either way, then by record number.
    """
    descending = order.startswith("-")
    field = order.lstrip("-")
    if field not in SORT_KEYS.values():
        raise ValueError(f"cannot sort the caseload by {order!r}")
    primary = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return (
        episodes.select_related("client", "therapist")
        .annotate(
            sessions_attended=Count("sessions", filter=Q(sessions__status=SessionStatus.ATTENDED)),
            **{
                f"latest_{column}": _latest_total(instrument_id)
                for column, instrument_id in HEADLINE_INSTRUMENTS.items()
            },
        )
        .order_by(primary, "client__record_number")
    )
