"""``{% wide_table %}``: a table that may be wider than a phone scrolls in its own region."""

from __future__ import annotations

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.utils import translation


def render(source: str, **context) -> str:
    return Template("{% load layout %}" + source).render(Context(context))


def test_the_table_sits_in_a_named_focusable_scrolling_region() -> None:
    html = render(
        "{% wide_table title %}<table><tr><td>{{ cell }}</td></tr></table>{% endwide_table %}",
        title="Staff & roles",
        cell="<b>",
    )
    assert html == (
        '<div class="table-scroll" role="region" aria-label="Staff &amp; roles" tabindex="0">'
        "<table><tr><td>&lt;b&gt;</td></tr></table></div>"
    )


def test_the_region_is_named_in_the_reader_s_language() -> None:
    with translation.override("es"):
        html = render('{% wide_table _("Caseload") %}<table></table>{% endwide_table %}')
    assert 'aria-label="Casos"' in html  # the Spanish catalogue's word for the caseload


def test_a_region_without_a_name_is_refused() -> None:
    with pytest.raises(TemplateSyntaxError, match="the table's name"):
        render("{% wide_table %}<table></table>{% endwide_table %}")
