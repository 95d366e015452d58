"""``{% if user|may:"care.change" %}``: templates ask the role x permission matrix.

Templates never compare role names: what a role may do is decided once, in
:data:`rapport.security.access.ROLE_PERMISSIONS`, and a link or column follows the same
permission that its view checks. An unknown permission name raises ``ValueError`` while
rendering, so a typo fails loudly instead of hiding a link.
"""

from django import template

from rapport.security.access import has_permission

register = template.Library()


@register.filter
def may(user, permission: str) -> bool:
    """Whether ``user``'s role carries ``permission`` (a name from the access layer)."""
    return has_permission(user, permission)
