"""The access layer: the one place that decides which records a staff member may see.

Views never query clinical models directly; they ask this module for a queryset that is
already limited to the user's organisation and role. Records outside that scope behave as
if they did not exist (views answer 404, not 403).
"""

from __future__ import annotations

from django.db.models import QuerySet

from rapport.accounts.models import Role, User
from rapport.clinic.models import Episode, EpisodeStatus


def episodes_for(user: User) -> QuerySet[Episode]:
    """Episodes whose clinical details ``user`` may see.

    Therapists see their own caseload, supervisors the caseloads of the therapists they
    supervise; other roles see no identified clinical records.
    """
    episodes = Episode.objects.filter(client__organisation_id=user.organisation_id)
    if user.organisation_id is None or not user.is_active:
        return episodes.none()
    if user.role == Role.THERAPIST:
        return episodes.filter(therapist=user)
    if user.role == Role.SUPERVISOR:
        return episodes.filter(therapist__supervisor=user)
    return episodes.none()


def active_caseload(user: User) -> QuerySet[Episode]:
    return episodes_for(user).filter(status=EpisodeStatus.ACTIVE)
