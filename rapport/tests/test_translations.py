"""Every message Rapport marks for translation, staff pages included, is translated.

The check-in's own test (``rapport/checkin/tests/test_translations.py``) keeps the client
pages complete; this one covers the whole package: every template and every module
outside the tests, for every shipped language other than English. A new staff page, form
or message whose Spanish is missing fails here, with the file that uses it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from rapport.translation_coverage import hard_coded_text, module_msgids, read_po, template_msgids

PACKAGE = Path(__file__).resolve().parents[1]
LOCALE = Path(settings.LOCALE_PATHS[0])
OTHER_LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]
# Text that is the same in every language: the product's name (the base page's title is
# "<page> · Rapport", and "Rapport" alone when a page names none) and each language's
# own name in the language switcher.
SAME_IN_EVERY_LANGUAGE = frozenset({"Rapport", "Rapport · Rapport", "English", "Español"})


def templates() -> list[Path]:
    found = [*PACKAGE.glob("*/templates/**/*.html"), *PACKAGE.glob("*/templates/**/*.txt")]
    return sorted(found)


def modules() -> list[Path]:
    return sorted(
        path
        for path in PACKAGE.rglob("*.py")
        if "tests" not in path.parts and "migrations" not in path.parts
    )


def used_msgids() -> dict[str, set[str]]:
    """msgid -> the templates and modules (relative to the package) that use it."""
    used: dict[str, set[str]] = {}
    sources = [(path, template_msgids(path)) for path in templates()]
    sources += [(path, module_msgids(path)) for path in modules()]
    for path, msgids in sources:
        for msgid in msgids:
            used.setdefault(msgid, set()).add(str(path.relative_to(PACKAGE)))
    return used


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_message_in_the_package_is_translated(language):
    catalogue = LOCALE / language / "LC_MESSAGES" / "django.po"
    translated = read_po(catalogue)
    missing = {
        msgid: sorted(where) for msgid, where in used_msgids().items() if msgid not in translated
    }
    assert missing == {}, f"add these to {catalogue}, then run msgfmt"


@pytest.mark.parametrize("template", templates(), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_no_template_holds_text_outside_translate_tags(template):
    assert hard_coded_text(template, SAME_IN_EVERY_LANGUAGE) == []


def test_staff_messages_are_found_in_plurals_and_tag_arguments(tmp_path):
    # The forms staff templates use beyond {% translate %}: a plural blocktranslate, a
    # translated argument of an include, a translated filter default; and ngettext.
    template = tmp_path / "page.html"
    template.write_text(
        "{% load i18n %}{% blocktranslate count clients=n %}{{ clients }} client"
        "{% plural %}{{ clients }} clients{% endblocktranslate %}"
        '{% include "row.html" with label=_("Flags") %}{{ when|default:_("never") }}',
        encoding="utf-8",
    )
    module = tmp_path / "views.py"
    module.write_text(
        "from django.utils.translation import ngettext\n"
        'TEXT = ngettext("%d session attended.", "%d sessions attended.", 2)\n',
        encoding="utf-8",
    )
    assert template_msgids(template) == {"%(clients)s client", "Flags", "never"}
    assert module_msgids(module) == {"%d session attended."}


def test_a_plural_counts_as_translated_only_with_every_form(tmp_path):
    catalogue = tmp_path / "django.po"
    catalogue.write_text(
        'msgid "%d day"\nmsgid_plural "%d days"\nmsgstr[0] "%d día"\nmsgstr[1] "%d días"\n\n'
        'msgid "%d hour"\nmsgid_plural "%d hours"\nmsgstr[0] "%d hora"\nmsgstr[1] ""\n',
        encoding="utf-8",
    )
    assert read_po(catalogue) == {"%d day": "%d día"}


def test_short_dates_read_naturally_in_spanish():
    """Django's "M" capitalises month abbreviations ("6 Dic 2026"); Spanish writes them in
    lower case, so the short formats are translated ("b")."""
    import datetime

    from django.utils import formats, translation
    from django.utils.translation import gettext as _

    day = datetime.datetime(2026, 12, 6, 9, 5)
    with translation.override("es"):
        assert formats.date_format(day, _("j M Y")) == "6 dic 2026"
        assert formats.date_format(day, _("j M Y H:i")) == "6 dic 2026 09:05"
    with translation.override("en"):
        assert formats.date_format(day, _("j M Y")) == "6 Dec 2026"
