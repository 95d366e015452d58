"""Kiosk mode: a clinic tablet handed to the client in the room.

Starting it signs the staff member out of the device (see ``views.kiosk_start``) and
marks the new, anonymous session as a kiosk holding only the link's public id. After
the client sends their answers the thank-you page returns to the neutral locked screen.
Leaving kiosk mode is a staff page, so it takes the full sign-in (password + MFA).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.http import HttpRequest

from rapport.checkin.models import CheckinLink

SESSION_KEY = "rapport_checkin_kiosk"


def link_lifetime() -> datetime.timedelta:
    """How long an unfinished kiosk link stays open."""
    return datetime.timedelta(minutes=settings.CHECKIN_KIOSK_MINUTES)


def enter(request: HttpRequest, link: CheckinLink) -> None:
    request.session[SESSION_KEY] = str(link.public_id)


def is_kiosk(request: HttpRequest) -> bool:
    session = getattr(request, "session", None)
    return session is not None and SESSION_KEY in session


def leave(request: HttpRequest) -> str | None:
    """Clear the kiosk mark; the public id of the kiosk's link, if there was one."""
    return request.session.pop(SESSION_KEY, None)
