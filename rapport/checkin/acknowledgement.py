"""Acknowledging an alert and recording a risk as resolved: the clinician's record.

:func:`acknowledge_alert` is the one way an alert is acknowledged, whoever calls it (the
client page, escalation, the API): for a critical-item alert it records how the client
was reached, what the review found (outcomes that fit a symptom answer or an answer
about the relationship with the therapist, :data:`OUTCOMES`) and an optional note; for
other alerts (a client who stopped check-ins) a note. A relationship answer's alert is
acknowledged and resolved only by a supervisor
(:func:`rapport.security.access.may_follow_up`). :func:`resolve_risk` is the
separate, later step that takes the "risk reviewed" marker off the caseload while the
answer is still endorsed.

Both lock the alert row, write it and their audit entry in one transaction, and raise
:class:`AcknowledgementError` with a sentence a clinician can act on. The audit entry
names the fields recorded, never the note (docs/safety.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.checkin.models import Alert, AlertKind, ContactMethod, RiskOutcome
from rapport.security import audit
from rapport.security.access import may_follow_up

NOTE_MAX_LENGTH = 500


class AcknowledgementError(ValueError):
    """The acknowledgement or resolution cannot be recorded as given (the message says why)."""


# The outcomes offered for a critical answer, by whether it is about the relationship
# with the therapist (True) or a symptom such as self-harm (False); the first of each is
# the one that needs a conversation with the client.
OUTCOMES: dict[bool, tuple[RiskOutcome, ...]] = {
    False: (
        RiskOutcome.NO_CURRENT_RISK,
        RiskOutcome.RISK_PRESENT_PLAN_REVIEWED,
        RiskOutcome.EMERGENCY_SERVICES,
    ),
    True: (
        RiskOutcome.RELATIONSHIP_NO_CONCERN,
        RiskOutcome.RELATIONSHIP_CHANGE_AGREED,
        RiskOutcome.RELATIONSHIP_PROCEDURE,
    ),
}


def acknowledge_alert(
    alert: Alert,
    user: Any,
    *,
    contact_method: str = "",
    risk_outcome: str = "",
    note: str = "",
    request: Any = None,
) -> Alert:
    """Acknowledge ``alert`` as ``user``; returns the updated alert.

    Parameters
    ----------
    alert : Alert
        The alert, already scoped to ``user`` by the caller (the access layer).
    user : User
        Who acknowledges (recorded as ``acknowledged_by`` and as the audit actor).
    contact_method : str
        A :class:`~rapport.checkin.models.ContactMethod` value; required for a
        critical-item alert, ignored otherwise.
    risk_outcome : str
        One of the :data:`OUTCOMES` that fit the alert (a relationship answer or a
        symptom); required for a critical-item alert, ignored otherwise.
    note : str
        Free text (stored encrypted, never audited); optional for a critical-item alert,
        required for other alerts, at most :data:`NOTE_MAX_LENGTH` characters.
    request : HttpRequest, optional
        For the audit entry's request details.

    Raises
    ------
    AcknowledgementError
        A missing or unknown choice, a note that is too long (or missing where it is
        required), "could not reach" with the outcome that needs a conversation ("no
        current risk"), an alert that is already acknowledged, or a relationship answer's
        alert acknowledged by anyone but a supervisor
        (:func:`rapport.security.access.may_follow_up`).
    """
    note = (note or "").strip()
    _check_reviewer(alert, user)
    risk = alert.kind == AlertKind.CRITICAL_ITEM
    if risk:
        offered = OUTCOMES[alert.about_the_relationship]
        _check_choice(contact_method, ContactMethod.values, _("Choose how the client was reached."))
        _check_choice(risk_outcome, offered, _("Choose the outcome of the risk review."))
        if contact_method == ContactMethod.NOT_REACHED and risk_outcome == offered[0]:
            raise AcknowledgementError(
                _(
                    "“%(outcome)s” needs a conversation with the client: you could not "
                    "reach them, so record what was done instead, or try again first."
                )
                % {"outcome": RiskOutcome(risk_outcome).label}
            )
    else:
        contact_method, risk_outcome = "", ""
        if not note:
            raise AcknowledgementError(_("Write a short note."))
    _check_note(note)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is not None:
            raise AcknowledgementError(_("This alert has already been acknowledged."))
        alert.acknowledged_at = timezone.now()
        alert.acknowledged_by = user
        alert.contact_method = contact_method
        alert.risk_outcome = risk_outcome
        alert.acknowledgement_note = note
        recorded = [name for name in ("contact_method", "risk_outcome") if getattr(alert, name)]
        if note:
            recorded.append("acknowledgement_note")
        alert.save(
            update_fields=[
                "acknowledged_at",
                "acknowledged_by",
                "contact_method",
                "risk_outcome",
                "acknowledgement_note",
            ]
        )
        audit.record(
            "alert.acknowledge",
            request=request,
            user=user,
            obj=alert,
            detail={"reason": alert.kind, "fields": recorded},
        )
    return alert


def resolve_risk(alert: Alert, user: Any, *, note: str, request: Any = None) -> Alert:
    """Record that the risk an acknowledged critical-item alert reported is resolved.

    The caseload's "risk reviewed" marker then comes off even though the latest check-in
    still endorses the item; a later check-in that endorses it again raises a new alert.
    ``note`` (required, encrypted, never audited) says why the clinician judges the risk
    resolved.

    Raises
    ------
    AcknowledgementError
        No note, a note that is too long, an alert that is not about risk, not yet
        acknowledged, or already resolved.
    """
    note = (note or "").strip()
    if alert.kind != AlertKind.CRITICAL_ITEM:
        raise AcknowledgementError(_("Only a risk answer can be recorded as resolved."))
    _check_reviewer(alert, user)
    if not note:
        raise AcknowledgementError(_("Write a short note on why the risk is resolved."))
    _check_note(note)
    with transaction.atomic():
        locked = Alert.objects.select_for_update().get(pk=alert.pk)
        if locked.acknowledged_at is None:
            raise AcknowledgementError(_("Acknowledge the alert before recording it resolved."))
        if locked.resolved_at is not None:
            raise AcknowledgementError(_("This risk has already been recorded as resolved."))
        alert.resolved_at = timezone.now()
        alert.resolved_by = user
        alert.resolution_note = note
        alert.save(update_fields=["resolved_at", "resolved_by", "resolution_note"])
        audit.record(
            "alert.resolve",
            request=request,
            user=user,
            obj=alert,
            detail={"reason": alert.kind, "fields": ["resolution_note"]},
        )
    return alert


def _check_reviewer(alert: Alert, user: Any) -> None:
    if not may_follow_up(user, alert):
        raise AcknowledgementError(
            _(
                "An answer about the relationship with the therapist is followed up and "
                "recorded by the therapist's supervisor."
            )
        )


def _check_choice(value: str, choices: Iterable[str], missing: str) -> None:
    if not value:
        raise AcknowledgementError(missing)
    if value not in choices:
        raise AcknowledgementError(
            _("“%(value)s” is not one of the choices offered.") % {"value": value}
        )


def _check_note(note: str) -> None:
    if len(note) > NOTE_MAX_LENGTH:
        raise AcknowledgementError(
            _("Keep the note to %(limit)d characters (it has %(length)d).")
            % {"limit": NOTE_MAX_LENGTH, "length": len(note)}
        )
