"""``{% safety_plan_summary episode %}``: the short safety-plan block of the pre-session brief.

The brief's own lookup (``get_episode_or_404``, audited as ``episode.brief``) has already
decided that the user may see ``episode``; this reads its plan, nothing else.
"""

from __future__ import annotations

from django import template
from django.utils import timezone

from rapport.safety_plans.models import SafetyPlan
from rapport.security.access import CHANGE_CARE, has_permission

register = template.Library()
WARNING_SIGNS_SHOWN = 3


@register.inclusion_tag("safety_plans/_brief_block.html", takes_context=True)
def safety_plan_summary(context, episode) -> dict:
    # Only the treating therapist writes a plan; a supervisor gets no "write" link.
    may_write = has_permission(context["user"], CHANGE_CARE)
    plan = SafetyPlan.objects.filter(episode=episode).prefetch_related("contacts").first()
    if plan is None:
        return {"episode": episode, "plan": None, "may_write": may_write}
    signs = plan.lines("warning_signs")
    return {
        "episode": episode,
        "plan": plan,
        "may_write": may_write,
        "days_since_review": (timezone.localdate() - plan.reviewed_on).days,
        "warning_signs": signs[:WARNING_SIGNS_SHOWN],
        "more_signs": max(len(signs) - WARNING_SIGNS_SHOWN, 0),
        "people": len(plan.contacts.all()),
    }
