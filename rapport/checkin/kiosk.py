"""Kiosk mode: a clinic tablet handed to the client in the room.

Starting it signs the staff member out of the device (see ``views.kiosk_start``) and
marks the new, anonymous session as a kiosk holding only the link's public id. That mark
binds the kiosk link to the tablet: the link opens nowhere else, so a token read off the
screen or from history is of no use on another device. After the client sends their
answers the thank-you page returns to the neutral locked screen. A check-in left idle
for ``RAPPORT_CHECKIN_KIOSK_IDLE_MINUTES`` (or past the kiosk link's lifetime), or
abandoned for the locked screen, ends: its draft is discarded and its link closed, so
the next person holding the tablet finds nothing. Leaving kiosk mode is a staff page, so
it takes the full sign-in (password + MFA).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import logout as auth_logout
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from rapport.checkin.links import revoke_link
from rapport.checkin.models import Channel, CheckinDraft, CheckinLink

SESSION_KEY = "rapport_checkin_kiosk"


def link_lifetime() -> datetime.timedelta:
    """How long an unfinished kiosk link stays open."""
    return datetime.timedelta(minutes=settings.CHECKIN_KIOSK_MINUTES)


def idle_limit() -> datetime.timedelta:
    """How long a kiosk check-in may go without an answer before it ends."""
    return datetime.timedelta(minutes=settings.CHECKIN_KIOSK_IDLE_MINUTES)


def hand_to_client(request: HttpRequest, mark: str, value: str) -> None:
    """Sign the staff member out of this device and mark the new session with ``mark``.

    From here the device belongs to the client: no staff session is left on it, so
    getting back to any staff page, and leaving the client's screen
    (:func:`rapport.checkin.views.kiosk_exit`), means signing in again with password and
    MFA. Kiosk check-ins and "review together" (:mod:`rapport.checkin.review`) both
    start here.
    """
    auth_logout(request)
    request.session[mark] = value


def enter(request: HttpRequest, link: CheckinLink) -> None:
    hand_to_client(request, SESSION_KEY, str(link.public_id))


def is_kiosk(request: HttpRequest) -> bool:
    session = getattr(request, "session", None)
    return session is not None and SESSION_KEY in session


def current_link_id(request: HttpRequest) -> str | None:
    """The public id of the kiosk link this device was started with, if any."""
    session = getattr(request, "session", None)
    return (session.get(SESSION_KEY) or None) if session is not None else None


def opens_here(request: HttpRequest, link: CheckinLink) -> bool:
    """Whether ``link`` may be used on this device: a kiosk link only on its own tablet."""
    return link.channel != Channel.KIOSK or current_link_id(request) == str(link.public_id)


def leave(request: HttpRequest) -> str | None:
    """Clear the kiosk mark; the public id of the kiosk's link, if there was one."""
    return request.session.pop(SESSION_KEY, None) or None


def end_if_idle(request: HttpRequest, now: datetime.datetime | None = None) -> bool:
    """End this tablet's unfinished check-in if it has been idle too long or expired.

    True when it was ended (the caller shows the locked screen).
    """
    link = _unfinished_link(request)
    if link is None:
        return False
    now = now or timezone.now()
    draft = CheckinDraft.objects.filter(link=link).only("updated_at").first()
    last_activity = draft.updated_at if draft else link.created_at
    if link.is_open(now) and now - last_activity < idle_limit():
        return False
    end(request, link, reason="kiosk_idle" if link.is_open(now) else "kiosk_expired")
    return True


def end_unfinished(request: HttpRequest) -> None:
    """End this tablet's unfinished check-in, whatever its state (the locked screen)."""
    link = _unfinished_link(request)
    if link is not None:
        end(request, link, reason="kiosk_locked")


def end(request: HttpRequest, link: CheckinLink, *, reason: str) -> None:
    """Close ``link``, discard its draft; the device stays a kiosk, with no check-in."""
    with transaction.atomic():
        revoke_link(link, request=request, reason=reason)
        CheckinDraft.objects.filter(link=link).delete()
    request.session[SESSION_KEY] = ""


def _unfinished_link(request: HttpRequest) -> CheckinLink | None:
    link_id = current_link_id(request)
    if link_id is None:
        return None
    return CheckinLink.objects.filter(
        public_id=link_id, channel=Channel.KIOSK, used_at__isnull=True
    ).first()
