"""Changes that widen who sees clinical records, made visible to the clinic.

A clinic admin sees no identified clinical data, but could give themselves that access
by creating a supervisor account and assigning it therapists. So every new supervisor
(a new account or a change of role) and every therapist given a supervisor is audited,
e-mailed to the clinic's other supervisors and admins, and listed on the staff page
with the resets of other members' sign-in (:func:`recent_access_changes`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.accounts.models import Role, User
from rapport.accounts.notices import clinic_overseers, send_notice
from rapport.security import audit
from rapport.security.models import AuditEvent

SUPERVISOR_APPOINTED = "staff.supervisor.appointed"
SUPERVISOR_ASSIGNED = "staff.supervisor.assigned"
PASSWORD_RESET = "staff.password_reset"  # noqa: S105 - an audit action, not a secret
MFA_RESET = "auth.mfa.reset"
LISTED_ACTIONS = (SUPERVISOR_APPOINTED, SUPERVISOR_ASSIGNED, PASSWORD_RESET, MFA_RESET)
LISTED_DAYS = 90
LISTED_MAX = 30


def record_supervision_changes(
    member: User, *, before_role: str | None, before_supervisor_id: int | None, request
) -> None:
    """Audit and announce what ``member``'s save changed in supervision, if anything.

    ``before_role`` is None for a new account. Call inside the transaction of the save.
    """
    acting = request.user
    via = "create" if before_role is None else "role_change"
    # Each change is worded when its e-mail is rendered, in that recipient's language.
    changes: list[Callable[[], str]] = []
    if member.role == Role.SUPERVISOR and before_role != Role.SUPERVISOR:
        audit.record(
            SUPERVISOR_APPOINTED,
            request=request,
            obj=member,
            object_type="user",
            detail={"via": via},
        )
        changes.append(lambda: _("%(member)s is now a supervisor.") % {"member": member})
    if (
        member.role == Role.THERAPIST
        and member.supervisor_id is not None
        and member.supervisor_id != before_supervisor_id
    ):
        supervisor = member.supervisor
        audit.record(
            SUPERVISOR_ASSIGNED,
            request=request,
            obj=member,
            object_type="user",
            detail={
                "via": "create" if before_role is None else "edit",
                "supervisor": str(supervisor.public_id),
            },
        )
        changes.append(
            lambda: (
                _("%(supervisor)s now supervises %(therapist)s and sees their clients' records.")
                % {"supervisor": supervisor, "therapist": member}
            )
        )
    if changes:
        send_notice(
            clinic_overseers(member.organisation_id, excluding=[acting, member]),
            gettext_lazy("Rapport: a change to who sees clients' records"),
            "accounts/email/supervision_change.txt",
            # A callable: the template calls it while the recipient's language is active.
            {"by": acting, "change": lambda: "\n".join(change() for change in changes)},
        )


@dataclass(frozen=True)
class AccessChange:
    occurred_at: datetime.datetime
    by: str
    action: str
    member: User | None
    supervisor: User | None


def recent_access_changes(staff: QuerySet[User]) -> list[AccessChange]:
    """The latest supervision changes and sign-in resets of ``staff``, newest first."""
    members = {str(member.public_id): member for member in staff}
    events = AuditEvent.objects.filter(
        action__in=LISTED_ACTIONS,
        object_type="user",
        object_id__in=list(members),
        outcome="success",
        occurred_at__gte=timezone.now() - datetime.timedelta(days=LISTED_DAYS),
    ).order_by("-occurred_at", "-id")[:LISTED_MAX]
    return [
        AccessChange(
            occurred_at=event.occurred_at,
            by=event.actor_username or _("the operator (command line)"),
            action=event.action,
            member=members.get(event.object_id),
            supervisor=members.get(str(event.detail.get("supervisor", ""))),
        )
        for event in events
    ]
