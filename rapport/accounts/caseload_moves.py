"""Handing a therapist's active clients to a colleague (someone leaving, a long absence).

A clinic admin does this without seeing any clinical record: only how many clients move.
The receiving therapist (and their supervisor) sees them from then on; the leaving
therapist no longer does. Closed episodes stay with the therapist who treated them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet

from rapport.accounts.models import Role, User
from rapport.clinic.models import Episode, EpisodeStatus
from rapport.security import audit


class CaseloadMoveError(ValueError):
    """The caseload cannot be moved as asked (the message says why)."""


def active_episodes_of(therapist: User) -> QuerySet[Episode]:
    return Episode.objects.filter(therapist=therapist, status=EpisodeStatus.ACTIVE)


def move_caseload(from_therapist: User, to_therapist: User, *, request=None) -> int:
    """Give ``to_therapist`` every active episode of ``from_therapist``; how many moved.

    Both must be therapists of the same clinic, and the receiver must be able to sign in.
    Audited on both accounts (``caseload.move_out``, ``caseload.move_in``) with the count.
    """
    if from_therapist.pk == to_therapist.pk:
        raise CaseloadMoveError("Choose another therapist.")
    if (
        to_therapist.organisation_id != from_therapist.organisation_id
        or to_therapist.role != Role.THERAPIST
        or not to_therapist.is_active
    ):
        raise CaseloadMoveError("Clients can only move to an active therapist of this clinic.")
    with transaction.atomic():
        moved = active_episodes_of(from_therapist).update(therapist=to_therapist)
        for action, member in (
            ("caseload.move_out", from_therapist),
            ("caseload.move_in", to_therapist),
        ):
            audit.record(
                action, request=request, obj=member, object_type="user", detail={"count": moved}
            )
    return moved
