"""Handing active clients to a colleague: a whole caseload, or one client.

A clinic admin moves a leaving therapist's whole caseload without seeing any clinical
record, only how many clients move. A treating therapist hands one client over (a
better fit, a change of hours). Either way the receiving therapist (and their
supervisor) sees the client from then on and the former therapist no longer does; a
:class:`~rapport.clinic.models.Handover` row per episode lets the client's old page tell
the former therapist where the client went. Closed episodes stay with the therapist who
treated them.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from rapport.accounts.models import Role, User
from rapport.clinic.models import Episode, EpisodeStatus, Handover
from rapport.security import audit


class CaseloadMoveError(ValueError):
    """The caseload cannot be moved as asked (the message says why)."""


def active_episodes_of(therapist: User) -> QuerySet[Episode]:
    return Episode.objects.filter(therapist=therapist, status=EpisodeStatus.ACTIVE)


def colleagues_who_can_take_over(therapist: User) -> QuerySet[User]:
    """The other therapists of ``therapist``'s clinic who can sign in."""
    return User.objects.filter(
        organisation_id=therapist.organisation_id, role=Role.THERAPIST, is_active=True
    ).exclude(pk=therapist.pk)


def _check_receiver(from_therapist: User, to_therapist: User) -> None:
    if from_therapist.pk == to_therapist.pk:
        raise CaseloadMoveError(_("Choose another therapist."))
    if not colleagues_who_can_take_over(from_therapist).filter(pk=to_therapist.pk).exists():
        raise CaseloadMoveError(_("Clients can only move to an active therapist of this clinic."))


def _audit_caseload(action: str, member: User, count: int, request) -> None:
    """``caseload.move_out`` / ``caseload.move_in`` on ``member``'s account, with a count."""
    audit.record(action, request=request, obj=member, object_type="user", detail={"count": count})


def move_caseload(from_therapist: User, to_therapist: User, *, request=None) -> int:
    """Give ``to_therapist`` every active episode of ``from_therapist``; how many moved.

    Both must be therapists of the same clinic, and the receiver must be able to sign in.
    Audited on both accounts (``caseload.move_out``, ``caseload.move_in``) with the count.
    """
    _check_receiver(from_therapist, to_therapist)
    with transaction.atomic():
        episode_ids = list(
            active_episodes_of(from_therapist).select_for_update().values_list("pk", flat=True)
        )
        moved = Episode.objects.filter(pk__in=episode_ids).update(therapist=to_therapist)
        Handover.objects.bulk_create(
            Handover(episode_id=pk, from_therapist=from_therapist, to_therapist=to_therapist)
            for pk in episode_ids
        )
        _audit_caseload("caseload.move_out", from_therapist, moved, request)
        _audit_caseload("caseload.move_in", to_therapist, moved, request)
    return moved


def hand_over_episode(episode: Episode, to_therapist: User, *, request=None) -> None:
    """Give ``to_therapist`` the active ``episode`` (its therapist hands the client over).

    The receiver must be an active therapist of the same clinic. Audited on the episode
    (``episode.hand_over``) and on the receiver's account (``caseload.move_in``, count 1).
    Check-in links and alerts stay with the episode, so the receiver sees them.
    """
    with transaction.atomic():
        locked = Episode.objects.select_for_update().select_related("therapist").get(pk=episode.pk)
        if locked.status != EpisodeStatus.ACTIVE:
            raise CaseloadMoveError(_("This episode is closed."))
        _check_receiver(locked.therapist, to_therapist)
        Handover.objects.create(
            episode=locked, from_therapist=locked.therapist, to_therapist=to_therapist
        )
        locked.therapist = to_therapist
        locked.save(update_fields=["therapist"])
        audit.record("episode.hand_over", request=request, obj=locked)
        _audit_caseload("caseload.move_in", to_therapist, 1, request)
    episode.therapist = to_therapist
