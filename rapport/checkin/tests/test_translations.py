"""No untranslated string on a client's screen or in a client's message.

For every shipped language other than English, every message the check-in's client pages
(invitation and reminder, check-in screens, thank-you page and crisis box, closed-link,
too-many-requests, preferences and kiosk pages) mark for translation must have a
translation in that language's catalogue, and no client template may hold text that is
not marked for translation at all. A new client template or module is covered without
being listed: only staff pages are listed, as exceptions. Staff pages are translated too:
``rapport/tests/test_translations.py`` checks the whole package.
"""

from __future__ import annotations

import gettext
from pathlib import Path

import pytest
from django.conf import settings

from rapport.checkin.answers import LANGUAGES
from rapport.translation_coverage import (
    CatalogueError,
    hard_coded_text,
    module_msgids,
    read_po,
    template_msgids,
)

CHECKIN = Path(__file__).resolve().parents[1]
TEMPLATES = CHECKIN / "templates" / "checkin"
LOCALE = Path(settings.LOCALE_PATHS[0])
# Staff pages of the check-in app (translated too: rapport/tests/test_translations.py).
STAFF_TEMPLATES = frozenset(
    {
        "_client_panel.html",
        "_safety_notices.html",
        "_send_buttons.html",
        "kiosk_exit.html",
        "link_created.html",
        "crisis_contacts.html",
        "safety_settings.html",
    }
)
# Staff templates included in staff pages rather than pages of their own.
STAFF_PARTIALS = frozenset({"_client_panel.html", "_safety_notices.html", "_send_buttons.html"})
# Modules whose translatable strings reach clients, and those whose strings only staff see.
CLIENT_MODULES = frozenset({"audience.py", "crisis.py", "delivery.py", "progress.py", "screens.py"})
# views.py serves the client's pages too, but its only message is for staff (no due
# session); the client pages' text comes from their templates and screens.py.
STAFF_MODULES = frozenset(
    {
        "acknowledgement.py",
        "crisis_admin.py",
        "models.py",
        "reach.py",
        "safety_notices.py",
        "safety_settings.py",
        "sending.py",
        "views.py",
    }
)
# The language switcher names each language in that language.
SAME_IN_EVERY_LANGUAGE = frozenset({"English", "Español"})
OTHER_LANGUAGES = [code for code in LANGUAGES if code != "en"]


def client_templates() -> list[Path]:
    return sorted(path for path in TEMPLATES.glob("*.html") if path.name not in STAFF_TEMPLATES)


def client_msgids() -> dict[str, set[str]]:
    """msgid -> the client templates and modules that use it."""
    used: dict[str, set[str]] = {}
    sources = [(path, template_msgids(path)) for path in client_templates()]
    sources += [(CHECKIN / name, module_msgids(CHECKIN / name)) for name in CLIENT_MODULES]
    for path, msgids in sources:
        for msgid in msgids:
            used.setdefault(msgid, set()).add(path.name)
    return used


def catalogue_path(language: str, suffix: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / f"django.{suffix}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_every_client_message_is_translated(language):
    translated = read_po(catalogue_path(language, "po"))
    missing = {
        msgid: sorted(where) for msgid, where in client_msgids().items() if msgid not in translated
    }
    assert missing == {}, f"add these to {catalogue_path(language, 'po')}"


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_the_compiled_catalogue_matches_the_po_file(language):
    # The .mo is what runs: a .po edited without msgfmt leaves clients with English.
    with catalogue_path(language, "mo").open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    stale = {
        msgid: expected
        for msgid, expected in read_po(catalogue_path(language, "po")).items()
        if catalogue.gettext(msgid) != expected
    }
    assert stale == {}, "run msgfmt -o django.mo django.po"


@pytest.mark.parametrize("template", client_templates(), ids=lambda path: path.name)
def test_client_templates_hold_no_text_outside_translate_tags(template):
    assert hard_coded_text(template, SAME_IN_EVERY_LANGUAGE) == []


def test_every_checkin_module_that_translates_is_classified():
    translating = {
        path.name
        for path in CHECKIN.glob("*.py")
        if module_msgids(path) or "gettext" in path.read_text()
    }
    assert translating - CLIENT_MODULES - STAFF_MODULES == set()


def test_staff_templates_are_staff_pages():
    # Listing a client page here would hide it from the checks above.
    for name in STAFF_TEMPLATES - STAFF_PARTIALS:
        source = (TEMPLATES / name).read_text(encoding="utf-8")
        assert '{% extends "rapport/base.html" %}' in source, name


# --- the checks themselves find what they are meant to find ---------------------------


def test_the_checks_catch_an_untranslated_message_and_hard_coded_text(tmp_path):
    template = tmp_path / "page.html"
    template.write_text(
        '{% load i18n %}<h1>{% translate "Thank you" %}</h1>\n'
        '<p title="Close">{% blocktranslate %}Step {{ step }} of {{ steps }}{% endblocktranslate %}'
        "</p><p>Send my answers</p>",
        encoding="utf-8",
    )
    catalogue = tmp_path / "django.po"
    catalogue.write_text(
        'msgid ""\nmsgstr ""\n"Language: es\\n"\n\n'
        'msgid "Thank you"\nmsgstr "Gracias"\n\n'
        '#, fuzzy\nmsgid "Step %(step)s of %(steps)s"\nmsgstr "Paso %(step)s de %(steps)s"\n',
        encoding="utf-8",
    )
    assert template_msgids(template) == {"Thank you", "Step %(step)s of %(steps)s"}
    assert read_po(catalogue) == {"Thank you": "Gracias"}  # the fuzzy entry does not count
    assert hard_coded_text(template) == ["Close", "Send my answers"]


def test_module_messages_are_found_including_multi_line_ones(tmp_path):
    module = tmp_path / "messages.py"
    module.write_text(
        "from django.utils.translation import gettext as _, gettext_lazy\n"
        'A = _("Hello,\\n\\n" "the link")\n'
        'B = gettext_lazy("Later")\n'
        'C = print("not a message")\n',
        encoding="utf-8",
    )
    assert module_msgids(module) == {"Hello,\n\nthe link", "Later"}


def test_a_catalogue_with_a_duplicate_entry_is_refused(tmp_path):
    catalogue = tmp_path / "django.po"
    catalogue.write_text('msgid "A"\nmsgstr "B"\n\nmsgid "A"\nmsgstr "C"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match="appears twice"):
        read_po(catalogue)


def test_entries_run_together_by_a_merge_are_refused(tmp_path):
    catalogue = tmp_path / "django.po"
    catalogue.write_text(
        'msgid "Thank you"\nmsgstr "Gracias"\nmsgid "Finish"\nmsgstr "Terminar"\n',
        encoding="utf-8",
    )
    with pytest.raises(CatalogueError, match="no blank line"):
        read_po(catalogue)
