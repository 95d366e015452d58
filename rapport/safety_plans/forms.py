"""The therapist's safety plan form: the text sections, language, review date, and people."""

from __future__ import annotations

import re

from django import forms
from django.forms import formset_factory
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.safety_plans.models import SafetyPlan
from rapport.safety_plans.sections import SECTIONS, TEXT_FIELDS

MAX_CONTACTS = 8
EMPTY_CONTACT_ROWS = 2
PHONE = re.compile(r"[0-9+()./\s-]*[0-9][0-9+()./\s-]*")


class SafetyPlanForm(forms.ModelForm):
    class Meta:
        model = SafetyPlan
        fields = ["language", "reviewed_on", *TEXT_FIELDS]
        labels = {
            "language": gettext_lazy("Language of the plan (headings when printed)"),
            "reviewed_on": gettext_lazy("Last reviewed with the client on"),
            **{s.field: s.heading for s in SECTIONS if not s.is_people},
        }
        help_texts = {s.field: s.hint for s in SECTIONS if not s.is_people}
        widgets = {
            "reviewed_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **{field: forms.Textarea(attrs={"rows": 3}) for field in TEXT_FIELDS},
        }

    def clean_reviewed_on(self):
        reviewed_on = self.cleaned_data["reviewed_on"]
        if reviewed_on > timezone.localdate():
            raise forms.ValidationError(_("The review date cannot be in the future."))
        return reviewed_on

    def clean(self):
        cleaned = super().clean()
        for field in TEXT_FIELDS:
            text = cleaned.get(field)
            if text is not None:
                # Line by line, as the plan is shown and printed.
                cleaned[field] = "\n".join(
                    line.strip() for line in text.splitlines() if line.strip()
                )
        return cleaned


class ContactForm(forms.Form):
    """One person to ask for help; a blank row is ignored."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=200, required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=40, required=False)

    def clean(self):
        cleaned = super().clean()
        name, phone = cleaned.get("name", ""), cleaned.get("phone", "")
        if phone and not name:
            self.add_error("name", _("Add the name of the person with this number."))
        if phone and not PHONE.fullmatch(phone):
            self.add_error("phone", _("Enter a phone number: digits, spaces and + ( ) - . / only."))
        return cleaned


ContactFormSet = formset_factory(
    ContactForm, extra=EMPTY_CONTACT_ROWS, max_num=MAX_CONTACTS, validate_max=True
)


def filled_contacts(formset) -> list[tuple[str, str]]:
    """(name, phone) of the formset's non-blank rows, in order; the formset must be valid."""
    return [
        (form.cleaned_data["name"], form.cleaned_data["phone"])
        for form in formset.forms
        if form.cleaned_data.get("name")
    ]
