"""``{% checkin_panel client %}``: the check-in buttons and open links on the client page.

Only for pages whose view already loaded ``client`` through the access layer.
"""

from __future__ import annotations

from django import template
from django.db.models import Q
from django.utils import timezone

from rapport.checkin import sending
from rapport.checkin.links import DUE_GRACE, open_links
from rapport.checkin.models import CheckinMessage, CheckinPreference
from rapport.clinic.models import Client, ClientProgress
from rapport.security.access import client_progress_constructs, episodes_for

register = template.Library()

# The panel lists at most this many check-in messages (the soonest sessions first).
MESSAGES_SHOWN = 10


@register.inclusion_tag("checkin/_client_panel.html", takes_context=True)
def checkin_panel(context, client: Client) -> dict:
    # Only the episodes this user treats or supervises: a former therapist sees the
    # client through the old episode, not the links of a new episode with someone else.
    episodes = episodes_for(context["request"].user).filter(client=client)
    links = (
        open_links(Q(session__episode__in=episodes))
        .select_related("session")
        .order_by("-created_at")
    )
    preference = CheckinPreference.objects.filter(client=client).first()
    # Delivery status of the current and coming sessions' invitations and reminders.
    client_messages = (
        CheckinMessage.objects.filter(
            session__episode__in=episodes,
            session__scheduled_at__gte=timezone.now() - DUE_GRACE,
        )
        .select_related("session")
        .order_by("session__scheduled_at", "kind")[:MESSAGES_SHOWN]
    )
    return {
        "client": client,
        "links": list(links),
        "reach": sending.reach_of(client),
        "client_messages": list(client_messages),
        "stopped": preference.stopped_at if preference else None,
        "progress_offered": client.organisation.client_progress != ClientProgress.OFF,
        "progress_shown": bool(client_progress_constructs(client.organisation, client)),
        "csrf_token": context.get("csrf_token"),
    }
