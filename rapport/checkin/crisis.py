"""Crisis contacts shown to a client after a critical answer, per clinic and language.

A clinic enters its own lines per shipped language on the clinic admin's *Crisis
contacts* page (:mod:`rapport.checkin.crisis_admin`); they are stored as plain text, one
line per contact, in ``CheckinSettings.crisis_resources`` (``{"en": "...", "es": "..."}``).

Which lines a client sees, in order of preference:

1. the clinic's lines in the client's language;
2. the clinic's English lines, when it has set English but not the client's language
   (its own, local contacts matter more than generic ones; the list is marked as English
   so that screen readers read it as such);
3. the shipped default lines (US numbers: docs/safety.md) in the client's language.

The lines are always produced here, in the requested language, whatever language is
active in the caller: building them outside ``translation.override`` is how a Spanish
page once showed English lines (issue #16).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy

from rapport.checkin.answers import LANGUAGES
from rapport.checkin.models import CheckinSettings
from rapport.clinic.models import Organisation
from rapport.security import audit

FALLBACK_LANGUAGE = "en"
MAX_LINES = 12
MAX_LINE_CHARS = 300

# The United States 988 Suicide & Crisis Lifeline (988lifeline.org): calls and texts to
# 988, chat on its website; in Spanish, press 2 on a call or text the word AYUDA.
DEFAULT_LINES = (
    gettext_lazy(
        "If you are in danger right now, call 911 or go to the nearest emergency department."
    ),
    gettext_lazy(
        "988 Suicide & Crisis Lifeline (United States), any time, day or night: call or "
        "text 988, or chat at 988lifeline.org."
    ),
    gettext_lazy("In Spanish: call 988 and press 2, or text AYUDA to 988."),
)


class Source(StrEnum):
    CLINIC = "clinic"
    DEFAULT = "default"


@dataclass(frozen=True)
class CrisisContacts:
    """The lines of a crisis box, the language they are written in, and where they come from."""

    lines: tuple[str, ...]
    language: str
    source: str

    @property
    def is_default(self) -> bool:
        return self.source == Source.DEFAULT


def lines_of(text: str | None) -> tuple[str, ...]:
    """The non-blank lines of ``text``, stripped."""
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def default_lines(language: str) -> tuple[str, ...]:
    """The shipped default lines, translated into ``language``."""
    with translation.override(language):
        return tuple(str(line) for line in DEFAULT_LINES)


def choose_contacts(configured: dict[str, str], language: str) -> CrisisContacts:
    """The lines for ``language`` from a clinic's ``configured`` text per language."""
    if language not in LANGUAGES:
        raise ValueError(f"crisis contacts exist in {', '.join(LANGUAGES)}, not {language!r}")
    own = lines_of(configured.get(language))
    if own:
        return CrisisContacts(own, language, Source.CLINIC)
    fallback = lines_of(configured.get(FALLBACK_LANGUAGE))
    if fallback:
        return CrisisContacts(fallback, FALLBACK_LANGUAGE, Source.CLINIC)
    return CrisisContacts(default_lines(language), language, Source.DEFAULT)


def configured_contacts(organisation_id: int) -> dict[str, str]:
    """The clinic's own text per language (empty when it has entered none)."""
    stored = (
        CheckinSettings.objects.filter(organisation_id=organisation_id)
        .values_list("crisis_resources", flat=True)
        .first()
    )
    return dict(stored or {})


def crisis_contacts(organisation_id: int, language: str) -> CrisisContacts:
    """What a client of ``organisation_id`` checking in in ``language`` is shown."""
    return choose_contacts(configured_contacts(organisation_id), language)


def store_contacts(
    organisation: Organisation, language: str, lines: tuple[str, ...], *, request
) -> None:
    """Replace the clinic's lines for ``language`` (none: fall back again); audited.

    Only this one language's entry of ``crisis_resources`` changes, read and written
    under a row lock, so two admins saving different languages at once both keep theirs.
    The audit entry names the language and the number of lines, never their text.
    """
    if language not in LANGUAGES:
        raise ValueError(f"crisis contacts exist in {', '.join(LANGUAGES)}, not {language!r}")
    with transaction.atomic():
        CheckinSettings.objects.get_or_create(organisation=organisation)
        row = CheckinSettings.objects.select_for_update().get(organisation=organisation)
        configured = dict(row.crisis_resources or {})
        if lines:
            configured[language] = "\n".join(lines)
        else:
            configured.pop(language, None)
        row.crisis_resources = configured
        row.save(update_fields=["crisis_resources"])
        audit.record(
            "checkin.crisis_contacts.update",
            request=request,
            obj=organisation,
            detail={"fields": [f"crisis_resources.{language}"], "count": len(lines)},
        )
