"""How an alert was followed up, as one reader may read it.

Acknowledging a risk alert writes a clinical record: how the client was reached, what
was found, a note, and later perhaps why the risk is resolved. Who reads that record is
the access layer's decision (:func:`rapport.security.access.may_follow_up`): for an
answer about the relationship with the therapist, only those who follow it up (the
therapist's supervisors); the therapist it is about reads that it was followed up, by
whom and when, and that the rest is kept for supervisors. The client page, the team page
and the PDF report read alerts through :func:`follow_ups`, so none of them decides this
on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rapport.accounts.models import User
from rapport.checkin.models import Alert
from rapport.security.access import may_follow_up


@dataclass(frozen=True)
class FollowUp:
    """An alert and the part of its follow-up record the reader may read."""

    alert: Alert
    # Whether the reader may read how it was followed up; otherwise only who and when.
    readable: bool

    @property
    def contact_method(self) -> str:
        return str(self.alert.get_contact_method_display()) if self.readable else ""

    @property
    def outcome(self) -> str:
        return str(self.alert.get_risk_outcome_display()) if self.readable else ""

    @property
    def note(self) -> str:
        return self.alert.acknowledgement_note if self.readable else ""

    @property
    def resolution_note(self) -> str:
        return self.alert.resolution_note if self.readable else ""

    @property
    def withheld(self) -> bool:
        """Whether a record exists that the reader may not read (said on the page, so that
        nobody takes the missing detail for a follow-up with nothing recorded)."""
        alert = self.alert
        recorded = alert.contact_method or alert.risk_outcome or alert.acknowledgement_note
        return not self.readable and bool(recorded or alert.resolution_note)


def follow_ups(user: User, alerts: Iterable[Alert]) -> list[FollowUp]:
    """``alerts`` (already limited to those ``user`` may know of, by
    :func:`rapport.security.access.visible_alerts` or the episode records), each with
    what ``user`` may read of its follow-up."""
    return [FollowUp(alert, may_follow_up(user, alert)) for alert in alerts]
