"""The printed safety plan is the client's: no untranslated text in any shipped language."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from rapport.checkin.answers import LANGUAGES
from rapport.translation_coverage import hard_coded_text, module_msgids, read_po, template_msgids

APP = Path(__file__).resolve().parents[1]
PRINT_TEMPLATE = APP / "templates" / "safety_plans" / "print.html"
OTHER_LANGUAGES = [code for code in LANGUAGES if code != "en"]


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_the_printed_plan_and_its_headings_are_translated(language):
    catalogue = read_po(Path(settings.LOCALE_PATHS[0]) / language / "LC_MESSAGES" / "django.po")
    used = template_msgids(PRINT_TEMPLATE) | module_msgids(APP / "sections.py")
    assert sorted(used - set(catalogue)) == []


def test_the_print_template_holds_no_text_outside_translate_tags():
    assert hard_coded_text(PRINT_TEMPLATE) == []
