"""``{{ public_id|name_in:names }}``: a client's name from a page's names, or ""."""

from django import template

from rapport.workspace.names import name_for

register = template.Library()


@register.filter
def name_in(public_id, names) -> str:
    return name_for(names or {}, public_id)
