"""``{{ instrument_id|instrument_title }}``: an instrument's name instead of its id."""

from django import template

from rapport.workspace import titles

register = template.Library()


@register.filter
def instrument_title(instrument_id: str) -> str:
    return titles.instrument_title(str(instrument_id))
