"""The access layer: the one place that decides which records a staff member may see.

Three questions, answered here and nowhere else:

1. **Who may reach a view at all?** Every view is staff-only and needs a completed
   second sign-in step (MFA) unless it is marked :func:`public` (sign-in page, check-in
   links) or :func:`before_mfa` (the MFA pages and sign-out). The marker is read by
   :class:`rapport.security.middleware.StaffGateMiddleware`, so a new view is protected
   without doing anything; opening one up takes a visible decorator.
2. **What may this role do?** :data:`ROLE_PERMISSIONS` is the role x permission matrix;
   :func:`require_permission` raises ``PermissionDenied`` (403) for the wrong role. The
   check does not look at any record, so a 403 never reveals whether a record exists.
3. **Which records exist for this user?** The ``*_for(user)`` querysets are already
   limited to the user's organisation and role. View helpers (``get_*_or_404``) load one
   record by its public UUID *within* that scope, so records of another therapist or
   another clinic answer 404 exactly like ids that were never issued, and they write the
   one audit entry for the read.

Clinic admins manage accounts and settings and see no identified clinical data; they and
researchers get aggregates only (see docs/security.md, "Who sees what").
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from rapport.accounts.models import Role, User
from rapport.clinic.models import Client, Episode, EpisodeStatus, Organisation, Session
from rapport.security import audit

# --- 1. Which views are open before sign-in or before MFA -------------------------------

ACCESS_ATTRIBUTE = "rapport_access"
PUBLIC = "public"
BEFORE_MFA = "before_mfa"

View = TypeVar("View", bound=Callable)
M = TypeVar("M", bound=Model)


def public(view: View) -> View:
    """Mark a view as reachable without signing in (sign-in page, check-in links).

    Such a view must not show staff or clinical data beyond what its own token grants.
    """
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def before_mfa(view: View) -> View:
    """Mark a view as reachable after the password step but before the MFA step.

    Only for the MFA enrolment/verification pages and sign-out.
    """
    setattr(view, ACCESS_ATTRIBUTE, BEFORE_MFA)
    return view


def view_access(view: Callable) -> str:
    """How open ``view`` is: ``public``, ``before_mfa`` or ``staff`` (the default)."""
    return getattr(view, ACCESS_ATTRIBUTE, "staff")


# --- 2. Role x permission matrix --------------------------------------------------------

# Read identified clinical records (clients, episodes, sessions, answers).
READ_CLINICAL = "clinical.read"
# Manage staff accounts and clinic settings.
MANAGE_CLINIC = "clinic.manage"
# See de-identified, small-cell-suppressed aggregates.
READ_AGGREGATES = "aggregates.read"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.THERAPIST: frozenset({READ_CLINICAL}),
    Role.SUPERVISOR: frozenset({READ_CLINICAL, READ_AGGREGATES}),
    Role.CLINIC_ADMIN: frozenset({MANAGE_CLINIC, READ_AGGREGATES}),
    Role.RESEARCHER: frozenset({READ_AGGREGATES}),
}
PERMISSIONS = frozenset({READ_CLINICAL, MANAGE_CLINIC, READ_AGGREGATES})

# A role added to the model without a row here would silently get nothing; fail at import.
if set(ROLE_PERMISSIONS) != set(Role.values):
    raise RuntimeError("ROLE_PERMISSIONS must list every Role exactly once")


def has_permission(user: User, permission: str) -> bool:
    """Whether ``user``'s role carries ``permission``; unknown permission names raise."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; known: {sorted(PERMISSIONS)}")
    if not user.is_authenticated or not user.is_active or user.organisation_id is None:
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def require_permission(user: User, permission: str) -> None:
    """Raise ``PermissionDenied`` (403) unless ``user``'s role carries ``permission``."""
    if not has_permission(user, permission):
        raise PermissionDenied


def require_therapist(user: User) -> None:
    """Raise ``PermissionDenied`` (403) unless ``user`` is a therapist.

    For the changes to a client's care and record (intake, plan, sessions, attendance,
    contact details, end of care): the therapist who treats the client makes them;
    supervisors review. Combine with a ``get_*_or_404`` lookup, which limits a therapist
    to their own clients.
    """
    require_permission(user, READ_CLINICAL)
    if user.role != Role.THERAPIST:
        raise PermissionDenied


# --- 3. Scoped querysets ----------------------------------------------------------------


def episodes_for(user: User) -> QuerySet[Episode]:
    """Episodes whose clinical details ``user`` may see.

    Therapists see their own caseload, supervisors the caseloads of the therapists they
    supervise; other roles see no identified clinical records.
    """
    if not has_permission(user, READ_CLINICAL):
        return Episode.objects.none()
    episodes = Episode.objects.filter(client__organisation_id=user.organisation_id)
    if user.role == Role.THERAPIST:
        return episodes.filter(therapist=user)
    if user.role == Role.SUPERVISOR:
        return episodes.filter(therapist__supervisor=user)
    return episodes.none()


def active_caseload(user: User) -> QuerySet[Episode]:
    return episodes_for(user).filter(status=EpisodeStatus.ACTIVE)


def closed_episodes(user: User) -> QuerySet[Episode]:
    """The closed episodes ``user`` may see, most recently ended first."""
    return (
        episodes_for(user)
        .filter(status=EpisodeStatus.CLOSED)
        .select_related("client", "therapist")
        .order_by("-ended_on", "-pk")
    )


def clients_for(user: User) -> QuerySet[Client]:
    """Clients with at least one episode that ``user`` may see."""
    if not has_permission(user, READ_CLINICAL):
        return Client.objects.none()
    return Client.objects.filter(
        organisation_id=user.organisation_id,
        pk__in=episodes_for(user).values("client_id"),
    )


# --- View helpers: one scoped lookup plus one audit entry -------------------------------


def _parse_public_id(public_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(public_id, uuid.UUID):
        return public_id
    try:
        return uuid.UUID(str(public_id))
    except ValueError:
        raise Http404 from None


def _clinical_record_or_404(
    request: HttpRequest, records: QuerySet[M], public_id: uuid.UUID | str, action: str
) -> M:
    """One record of ``records`` (already scoped to the user) by public id, audited.

    Wrong role: 403 before any lookup. Out of scope (another therapist's or another
    organisation's record, or no such id): 404, exactly like an id never issued.
    """
    require_permission(request.user, READ_CLINICAL)
    record = records.filter(public_id=_parse_public_id(public_id)).first()
    if record is None:
        raise Http404
    audit.record(action, request=request, obj=record)
    return record


def get_client_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "client.read"
) -> Client:
    """The client ``public_id`` if ``request.user`` may see it; audited as ``action``.

    Call once per view.
    """
    return _clinical_record_or_404(request, clients_for(request.user), public_id, action)


def get_episode_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "episode.read"
) -> Episode:
    """The episode ``public_id`` if ``request.user`` may see it; audited as ``action``."""
    episodes = episodes_for(request.user).select_related("client")
    return _clinical_record_or_404(request, episodes, public_id, action)


def get_session_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "session.read"
) -> Session:
    """The session ``public_id`` if ``request.user`` may see its episode; audited as ``action``."""
    sessions = Session.objects.filter(episode__in=episodes_for(request.user)).select_related(
        "episode__client"
    )
    return _clinical_record_or_404(request, sessions, public_id, action)


def get_insights_organisation(request: HttpRequest, *, action: str) -> Organisation:
    """The organisation whose aggregate insights ``request.user`` may see; audited as ``action``.

    Supervisors, clinic admins and researchers (``aggregates.read``) see their own
    organisation's suppressed aggregates and nothing else; therapists get 403. There is
    no organisation parameter to tamper with: the scope is the user's own clinic.
    """
    require_permission(request.user, READ_AGGREGATES)
    organisation = request.user.organisation
    audit.record(action, request=request, obj=organisation)
    return organisation


def get_team(request: HttpRequest, *, action: str = "team.read") -> QuerySet[User]:
    """The therapists ``request.user`` supervises (the supervisor view); audited as ``action``.

    Supervisors only: other roles get 403 before anything is read. The team is the same
    set of therapists whose episodes :func:`episodes_for` already lets the supervisor see.
    """
    require_permission(request.user, READ_CLINICAL)
    if request.user.role != Role.SUPERVISOR:
        raise PermissionDenied
    audit.record(action, request=request)
    return User.objects.filter(
        organisation_id=request.user.organisation_id,
        supervisor=request.user,
        role=Role.THERAPIST,
    )


def staff_for(user: User) -> QuerySet[User]:
    """The staff accounts of ``user``'s organisation, for a clinic admin to manage.

    Other roles manage no accounts: an empty queryset.
    """
    if not has_permission(user, MANAGE_CLINIC):
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id)


def get_staff(request: HttpRequest, *, action: str = "staff.list") -> QuerySet[User]:
    """Every staff account of the clinic admin's organisation; audited as ``action``.

    Clinic admins only (``clinic.manage``): other roles get 403 before anything is read.
    """
    require_permission(request.user, MANAGE_CLINIC)
    audit.record(action, request=request, object_type="user")
    return staff_for(request.user)


def get_staff_member_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "staff.read"
) -> User:
    """One staff account of the clinic admin's organisation; audited as ``action``.

    Wrong role: 403 before any lookup. Another clinic's account, or no such id: 404.
    """
    require_permission(request.user, MANAGE_CLINIC)
    member = staff_for(request.user).filter(public_id=_parse_public_id(public_id)).first()
    if member is None:
        raise Http404
    audit.record(action, request=request, obj=member, object_type="user")
    return member


def get_managed_organisation(request: HttpRequest, *, action: str) -> Organisation:
    """The organisation whose settings the clinic admin manages; audited as ``action``.

    Clinic admins only (``clinic.manage``): other roles get 403 before anything is read.
    There is no organisation parameter to tamper with: it is always the admin's own clinic.
    """
    require_permission(request.user, MANAGE_CLINIC)
    organisation = request.user.organisation
    audit.record(action, request=request, obj=organisation)
    return organisation
