"""What the client record page shows: the episodes in scope, their sessions and scores."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from rapport.clinic.models import Administration, AdministrationStatus, Episode, Session


@dataclass(frozen=True)
class LatestScore:
    instrument_id: str
    total: float | None
    band: str
    session_number: int


def episodes_with_sessions(episodes: QuerySet[Episode]) -> QuerySet[Episode]:
    """``episodes`` (already scoped by the access layer) with sessions and completed scores.

    Three queries, however many sessions there are.
    """
    completed = Administration.objects.filter(status=AdministrationStatus.COMPLETED).order_by(
        "instrument_id"
    )
    sessions = Session.objects.order_by("number").prefetch_related(
        Prefetch("administrations", queryset=completed, to_attr="completed_administrations")
    )
    return (
        episodes.select_related("therapist")
        .prefetch_related(Prefetch("sessions", queryset=sessions))
        .order_by("-started_on", "pk")
    )


def latest_scores(episode: Episode) -> list[LatestScore]:
    """The most recent completed score of each instrument in ``episode``, by instrument id.

    Expects ``episode`` from :func:`episodes_with_sessions` (sessions prefetched).
    """
    latest: dict[str, LatestScore] = {}
    for session in episode.sessions.all():  # ascending: later sessions overwrite earlier
        for administration in session.completed_administrations:
            latest[administration.instrument_id] = LatestScore(
                instrument_id=administration.instrument_id,
                total=administration.total,
                band=administration.band,
                session_number=session.number,
            )
    return [latest[instrument_id] for instrument_id in sorted(latest)]
