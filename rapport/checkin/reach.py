"""Whether and how a client can be sent a check-in message: one rule for every sender.

Staff's "Send by e-mail/SMS" and "Resend link" buttons (:mod:`rapport.checkin.sending`)
and the scheduled invitations and reminders (:mod:`rapport.checkin.delivery`) all ask
:func:`reach_of_clients`: nothing goes to a client who stopped check-ins, e-mail needs an
address on file, and a text message needs a mobile number on file **and** the clinic's
text-message switch (``SafetyNoticeSettings.sms_enabled``) on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import gettext as _

from rapport.checkin.models import Channel, CheckinPreference, safety_notice_settings_for
from rapport.clinic.models import ClientIdentity

SENDABLE_CHANNELS = (Channel.EMAIL, Channel.SMS)


class NotSendable(Exception):
    """A link that cannot be sent now; ``str(error)`` says why, for the staff member.

    ``code`` is the one-word reason written to the audit trail.
    """

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Reach:
    """How a client can be sent a check-in link now."""

    has_email: bool
    has_phone: bool
    sms_enabled: bool
    stopped: bool

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels a link may go by, e-mail first."""
        if self.stopped:
            return ()
        usable = {Channel.EMAIL: self.has_email, Channel.SMS: self.has_phone and self.sms_enabled}
        return tuple(channel for channel in SENDABLE_CHANNELS if usable[channel])

    def refusal(self, channel: str) -> NotSendable | None:
        """Why a link cannot go to this client by ``channel``, or None if it can."""
        if channel not in SENDABLE_CHANNELS:
            return NotSendable(_("Choose e-mail or text message."), "unknown_channel")
        if self.stopped:
            return NotSendable(
                _("The client stopped check-ins, so nothing is sent to them."), "stopped"
            )
        if channel == Channel.EMAIL and not self.has_email:
            return NotSendable(
                _("There is no e-mail address on file: add one under Contact details."),
                "no_email",
            )
        if channel == Channel.SMS and not self.has_phone:
            return NotSendable(
                _("There is no mobile number on file: add one under Contact details."),
                "no_phone",
            )
        if channel == Channel.SMS and not self.sms_enabled:
            return NotSendable(
                _(
                    "Text messages are switched off for this clinic (the clinic admin "
                    "switches them on under Safety notices)."
                ),
                "sms_off",
            )
        return None

    def why_unreachable(self) -> str:
        """A sentence for staff when there is no channel at all ("" when there is one)."""
        if self.channels:
            return ""
        if self.stopped or self.has_email:
            return str(self.refusal(Channel.EMAIL) or "")
        if self.has_phone:
            return str(self.refusal(Channel.SMS) or "")
        return _(
            "The client has no e-mail address or mobile number on file: add one under "
            "Contact details to send links."
        )


def reach_of_clients(client_ids: Iterable[int], organisation_id: int) -> dict[int, Reach]:
    """:class:`Reach` of each client of one clinic (three queries, whatever the count)."""
    wanted = set(client_ids)
    if not wanted:
        return {}
    contact = {
        identity.client_id: (bool(identity.email), bool(identity.phone))
        for identity in ClientIdentity.objects.filter(client_id__in=wanted)
    }
    stopped = set(
        CheckinPreference.objects.filter(
            client_id__in=wanted, stopped_at__isnull=False
        ).values_list("client_id", flat=True)
    )
    sms_enabled = safety_notice_settings_for(organisation_id).sms_enabled
    return {
        client_id: Reach(
            has_email=contact.get(client_id, (False, False))[0],
            has_phone=contact.get(client_id, (False, False))[1],
            sms_enabled=sms_enabled,
            stopped=client_id in stopped,
        )
        for client_id in wanted
    }


def reach_of(client) -> Reach:
    return reach_of_clients([client.pk], client.organisation_id)[client.pk]
