"""``{% safety_notices alerts %}``: who was told about these alerts, how, and whether it worked.

Only for pages whose view already loaded the alerts through the access layer (the
client page's episode records).
"""

from __future__ import annotations

from collections.abc import Iterable

from django import template

from rapport.checkin.models import Alert, SafetyNotice

register = template.Library()


@register.inclusion_tag("checkin/_safety_notices.html")
def safety_notices(alerts: Iterable[Alert]) -> dict:
    notices = (
        SafetyNotice.objects.filter(alert__in=[alert.pk for alert in alerts])
        .select_related("alert", "recipient")
        .order_by("alert__raised_at", "scheduled_for", "pk")
    )
    return {"notices": list(notices)}
