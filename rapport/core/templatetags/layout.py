"""``{% wide_table label %}<table>…</table>{% endwide_table %}``: a table that may be wider
than a phone scrolls sideways inside its own box, never the whole page.

The box is a named region that takes keyboard focus, so keyboard users can scroll it with
the arrow keys even when the table holds no link (WCAG 2.1.1); shadows at its edges show
that more columns lie beyond (rapport.css, ``.table-scroll``).
"""

from __future__ import annotations

from django import template
from django.template.base import FilterExpression, NodeList, Parser, Token
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


class WideTableNode(template.Node):
    def __init__(self, label: FilterExpression, nodelist: NodeList) -> None:
        self.label = label
        self.nodelist = nodelist

    def render(self, context: template.Context) -> str:
        return format_html(
            '<div class="table-scroll" role="region" aria-label="{}" tabindex="0">{}</div>',
            self.label.resolve(context),
            mark_safe(self.nodelist.render(context)),  # noqa: S308 - rendered by the template engine, escaped there
        )


@register.tag("wide_table")
def wide_table(parser: Parser, token: Token) -> WideTableNode:
    bits = token.split_contents()
    if len(bits) != 2:
        raise template.TemplateSyntaxError(
            "wide_table takes one argument, the table's name for screen readers, "
            'e.g. {% wide_table _("Caseload") %}'
        )
    nodelist = parser.parse(("endwide_table",))
    parser.delete_first_token()
    return WideTableNode(parser.compile_filter(bits[1]), nodelist)
