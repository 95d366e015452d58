"""Numbers read the same in English and Spanish: a decimal point, comma thousands.

Scores and insight figures are written before the reader's language is known, with a
point; Django's own rendering of a number in Spanish used Spain's comma ("en 1,5 s" on
the insights page beside "92.1%"). Dates keep their Spanish names.
"""

from __future__ import annotations

import datetime

import pytest
from django.template import Context, Template
from django.utils import formats, translation

from rapport.alerts.wording import number_as_read


@pytest.mark.parametrize("language", ["en", "es"])
def test_a_number_in_a_page_reads_as_the_scores_beside_it(language):
    with translation.override(language):
        rendered = Template("{{ seconds }} · {{ count }}").render(
            Context({"seconds": 1.5, "count": 2706})
        )
        grouped = formats.number_format(16917.25, decimal_pos=2, force_grouping=True)
    assert rendered == f"{number_as_read(1.5)} · 2706"
    assert grouped == "16,917.25"


def test_spanish_dates_keep_their_spanish_names():
    with translation.override("es"):
        written = formats.date_format(datetime.date(2026, 12, 7), "j F Y")
    assert written == "7 diciembre 2026"
