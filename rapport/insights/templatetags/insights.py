"""``{% if user|may_see_insights %}``: the navigation asks the access layer, not the role name."""

from django import template

from rapport.security.access import READ_AGGREGATES, has_permission

register = template.Library()


@register.filter
def may_see_insights(user) -> bool:
    return has_permission(user, READ_AGGREGATES)
