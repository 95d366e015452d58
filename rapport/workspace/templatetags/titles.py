"""``{{ instrument_id|instrument_title }}``: an instrument's name instead of its id;
``{{ status|administration_status }}``: a questionnaire's state in the reader's words."""

from django import template

from rapport.clinic.models import AdministrationStatus
from rapport.workspace import titles

register = template.Library()


@register.filter
def instrument_title(instrument_id: str) -> str:
    return titles.instrument_title(str(instrument_id))


@register.filter
def administration_status(status: str) -> str:
    """ "completed" -> "completed" / "completado"; an unknown code is shown as it is."""
    try:
        return str(AdministrationStatus(status).label).lower()
    except ValueError:
        return str(status)
