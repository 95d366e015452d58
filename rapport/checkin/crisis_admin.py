"""The clinic admin's *Crisis contacts* page: the lines clients see after a critical answer.

One form per shipped language. *Preview* shows what a client checking in in that language
would see with the text as typed, without saving it; *Save* stores it (audited by
:func:`rapport.checkin.crisis.store_contacts`). Each preview is the client's own crisis box
template rendered in that language, from the same choice of lines the thank-you page uses.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from rapport.checkin.answers import LANGUAGES
from rapport.checkin.crisis import (
    MAX_LINE_CHARS,
    MAX_LINES,
    CrisisContacts,
    Source,
    choose_contacts,
    configured_contacts,
    lines_of,
    store_contacts,
)
from rapport.security.access import get_managed_organisation

LANGUAGE_NAMES = dict(settings.LANGUAGES)
PREVIEW, SAVE = "preview", "save"


class CrisisContactsForm(forms.Form):
    """One language's lines (the language is the form's prefix)."""

    contacts = forms.CharField(
        label=gettext_lazy("Crisis contacts, one per line"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )

    def clean_contacts(self) -> tuple[str, ...]:
        lines = lines_of(self.cleaned_data["contacts"])
        if len(lines) > MAX_LINES:
            raise forms.ValidationError(
                _("Enter at most %(max)d lines; this has %(count)d.")
                % {"max": MAX_LINES, "count": len(lines)}
            )
        too_long = [number for number, line in enumerate(lines, 1) if len(line) > MAX_LINE_CHARS]
        if too_long:
            raise forms.ValidationError(
                _("Line %(number)d is longer than %(max)d characters.")
                % {"number": too_long[0], "max": MAX_LINE_CHARS}
            )
        if any(not character.isprintable() for line in lines for character in line):
            raise forms.ValidationError(_("Remove the control characters from the text."))
        return lines


def source_sentence(contacts: CrisisContacts, language: str) -> str:
    """What the admin needs to know about where a language's lines come from."""
    if contacts.source == Source.DEFAULT:
        return _(
            "Your clinic has entered no contacts: clients see Rapport's default lines, "
            "which name United States numbers."
        )
    if contacts.language != language:
        return _(
            "Your clinic has no contacts in this language: clients see your %(fallback)s contacts."
        ) % {"fallback": LANGUAGE_NAMES[contacts.language]}
    return _("Clients see your clinic's own contacts.")


def preview(contacts: CrisisContacts, language: str) -> str:
    """The client's crisis box, rendered in ``language`` (HTML)."""
    with translation.override(language):
        return render_to_string(
            "checkin/_crisis_box.html",
            {"crisis": contacts, "crisis_box_id": f"crisis-preview-{language}"},
        )


def _language_panel(configured: dict[str, str], language: str, form=None) -> dict:
    """A form, where the lines come from, and the preview, for one language.

    With a posted ``form`` (a preview, or a save that was refused) the panel shows the
    text as typed, and a valid one is previewed as if it were saved.
    """
    if form is None:
        form = CrisisContactsForm(
            initial={"contacts": configured.get(language, "")}, prefix=language
        )
    elif form.is_valid():
        configured = {**configured, language: "\n".join(form.cleaned_data["contacts"])}
    contacts = choose_contacts(configured, language)
    return {
        "code": language,
        "name": LANGUAGE_NAMES[language],
        "form": form,
        "source": source_sentence(contacts, language),
        "preview": preview(contacts, language),
    }


@require_http_methods(["GET", "POST"])
def crisis_contacts_page(request: HttpRequest) -> HttpResponse:
    """Edit and preview the clinic's crisis contacts per language (clinic admins)."""
    organisation = get_managed_organisation(request, action="checkin.crisis_contacts.read")
    configured = configured_contacts(organisation.pk)
    posted = None
    if request.method == "POST":
        language = request.POST.get("language")
        if language not in LANGUAGES:
            language = LANGUAGES[0]
        posted = CrisisContactsForm(request.POST, prefix=language)
        if request.POST.get("action") == SAVE and posted.is_valid():
            lines = posted.cleaned_data["contacts"]
            store_contacts(organisation, language, lines, request=request)
            messages.success(
                request,
                _("Crisis contacts in %(language)s saved.")
                % {"language": LANGUAGE_NAMES[language]},
            )
            return redirect("crisis-contacts")
    panels = [
        _language_panel(
            configured, code, posted if posted is not None and posted.prefix == code else None
        )
        for code in LANGUAGES
    ]
    return render(request, "checkin/crisis_contacts.html", {"panels": panels})
