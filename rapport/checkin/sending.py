"""Staff send a client's check-in link now: by e-mail or text message, on request.

The buttons are on the QR page, beside each open link on the client page ("Send by
e-mail", "Send by SMS") and on the worklist ("Resend link"). One rule decides for all of
them, shown and enforced alike:

* the session has an **open link** (not used, revoked or expired) in an active episode:
  a finished, withdrawn or lapsed check-in is not sent again (staff create a new link
  on the client page instead), and
* the client is **reachable** by that channel: they have not stopped check-ins, and
  have an e-mail address on file (e-mail), or a mobile number on file while the clinic
  has text messages switched on (``SafetyNoticeSettings.sms_enabled``, the clinic's
  "we have an SMS provider" switch on the Safety notices page).

A button is shown only where the rule holds; a POST where it does not raises
:class:`NotSendable` with a sentence for the staff member, and nothing is sent. What is
sent goes through :func:`rapport.checkin.delivery.resend_invitation`, the scheduled
invitation's own path: a fresh link in a message with retries and a status staff see.
"""

from __future__ import annotations

import datetime

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.checkin.delivery import resend_invitation
from rapport.checkin.links import open_links
from rapport.checkin.models import (
    Channel,
    CheckinLink,
    CheckinMessage,
    MessageStatus,
)
from rapport.checkin.reach import (  # noqa: F401 - callers use them as sending.X
    SENDABLE_CHANNELS,
    NotSendable,
    Reach,
    reach_of,
    reach_of_clients,
)
from rapport.clinic.models import EpisodeStatus, Session
from rapport.security import audit


def link_to_resend(session: Session) -> CheckinLink | None:
    """The link a resend of ``session`` stands for: its newest open link, else its newest
    link in any state (so a refusal can say it was used, revoked or expired)."""
    newest_first = ("-created_at", "-pk")
    open_ones = open_links(Q(session=session)).select_related("session__episode")
    any_state = CheckinLink.objects.filter(session=session).select_related("session__episode")
    return open_ones.order_by(*newest_first).first() or any_state.order_by(*newest_first).first()


def _link_refusal(link: CheckinLink | None, now: datetime.datetime) -> NotSendable | None:
    state = link.state(now) if link is not None else "none"
    if state == "open" and link is not None:
        if link.session.episode.status != EpisodeStatus.ACTIVE:
            return NotSendable(_("This episode of care is closed."), "episode_closed")
        return None
    sentences = {
        "used": _("This check-in was already completed."),
        "revoked": _("This link was revoked."),
        "expired": _("This link has expired."),
        "none": _("This session has no open check-in link."),
    }
    return NotSendable(
        sentences[state] + " " + _("Create a new link on the client page to send one."),
        f"link_{state}",
    )


def send_link(
    link: CheckinLink | None,
    channel: str | None,
    *,
    request: HttpRequest,
    session: Session,
    now: datetime.datetime | None = None,
) -> CheckinMessage:
    """Send ``session``'s check-in to its client now, standing for ``link`` (its open link).

    ``channel`` None means the first the client can be reached by (e-mail, else SMS).
    Raises :class:`NotSendable` (audited as denied, nothing sent) when the rule in the
    module docstring does not hold. Otherwise the session's invitation is delivered at
    once through the usual path and returned with its status (sent, or pending a retry
    after a failed attempt); audited as ``checkin.send`` with the channel.
    """
    now = now or timezone.now()
    reach = reach_of(session.episode.client)
    if channel is None and reach.channels:
        channel = reach.channels[0]
    refusal = _link_refusal(link, now) or (reach.refusal(channel) if channel else None)
    if refusal is not None or channel is None:
        refusal = refusal or NotSendable(reach.why_unreachable(), "unreachable")
        audit.record(
            "checkin.send",
            request=request,
            obj=session,
            outcome="denied",
            # Only a known channel is written: the posted value is anyone's text.
            detail={"via": channel if channel in SENDABLE_CHANNELS else "", "reason": refusal.code},
        )
        raise refusal
    message = resend_invitation(session, channel, now=now)
    audit.record(
        "checkin.send",
        request=request,
        obj=session,
        outcome="success" if message.status == MessageStatus.SENT else "failure",
        detail={"via": channel},
    )
    return message


def sent_sentence(message: CheckinMessage) -> tuple[bool, str]:
    """(sent?, the confirmation or failure sentence staff read after sending)."""
    number = message.session.number
    if message.status == MessageStatus.SENT:
        if message.channel == Channel.SMS:
            text = _("Check-in link for session %(number)s sent by text message.")
        else:
            text = _("Check-in link for session %(number)s sent by e-mail.")
        return True, text % {"number": number}
    if message.status == MessageStatus.PENDING:
        text = _(
            "Sending the check-in link for session %(number)s failed; Rapport tries again "
            "at %(when)s. Its status is shown under Check-ins."
        )
        when = timezone.localtime(message.next_attempt_at).strftime("%H:%M")
        return False, text % {"number": number, "when": when}
    text = _("The check-in link for session %(number)s was not sent: %(reason)s.")
    return False, text % {"number": number, "reason": message.last_error or message.status}
