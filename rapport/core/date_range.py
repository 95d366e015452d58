"""The one range every date and date-time Rapport accepts must fall in.

Python's dates reach from year 1 to 9999, but converting such a date between time zones,
or adding a day to it, overflows: one stored session in year 9999 made its client's page
fail for every reader. Every form field, API schema and import therefore checks dates
against this one range, chosen to hold any real birth date, episode or session.
"""

from __future__ import annotations

import datetime
from typing import Annotated, TypeVar

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from pydantic import AfterValidator

EARLIEST = datetime.date(1900, 1, 1)
LATEST = datetime.date(2100, 12, 31)
OUT_OF_RANGE_CODE = "date_out_of_range"


class DateOutOfRange(ValueError):
    """A date or date-time outside :data:`EARLIEST` .. :data:`LATEST`."""


def out_of_range_message() -> str:
    return str(
        _("The date must be between %(earliest)s and %(latest)s.")
        % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
    )


Day = TypeVar("Day", bound=datetime.date)


def check_in_range(value: Day) -> Day:
    """``value`` (a date or a date-time, whose calendar day is checked) if it is in range;
    :class:`DateOutOfRange` otherwise."""
    day = value.date() if isinstance(value, datetime.datetime) else value
    if not EARLIEST <= day <= LATEST:
        raise DateOutOfRange(out_of_range_message())
    return value


def validate_in_range(value: datetime.date) -> None:
    """The Django validator for form fields: :func:`check_in_range` as a ValidationError."""
    try:
        check_in_range(value)
    except DateOutOfRange as error:
        raise ValidationError(str(error), code=OUT_OF_RANGE_CODE) from None


# API schema types (pydantic): an out-of-range value is a 422 naming the field.
BoundedDate = Annotated[datetime.date, AfterValidator(check_in_range)]
BoundedDateTime = Annotated[datetime.datetime, AfterValidator(check_in_range)]
