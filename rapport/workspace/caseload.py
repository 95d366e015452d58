"""The rows of a therapist's caseload, built in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Episode,
    SessionStatus,
)

# The headline score for each column of the caseload table.
HEADLINE_INSTRUMENTS = {"trust": "rapport_trust", "alliance": "rapport_alliance", "outcome": "phq9"}


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


def with_latest_scores(episodes: QuerySet[Episode]) -> QuerySet[Episode]:
    """Annotate each episode with sessions attended and its latest headline scores."""
    return (
        episodes.select_related("client")
        .annotate(
            sessions_attended=Count("sessions", filter=Q(sessions__status=SessionStatus.ATTENDED)),
            **{
                f"latest_{column}": _latest_total(instrument_id)
                for column, instrument_id in HEADLINE_INSTRUMENTS.items()
            },
        )
        .order_by("client__record_number")
    )
