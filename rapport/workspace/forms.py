"""Forms for the workspace's state changes: acknowledging an alert, editing a plan."""

from __future__ import annotations

from django import forms
from django.forms import formset_factory

from rapport.checkin.registry import instruments
from rapport.workspace.flags import short_title

NOTE_MAX_LENGTH = 500


class AcknowledgeForm(forms.Form):
    # Which flag: "alert:<uuid>" or "critical:<item>@<session>" (ShownFlag.ack_key); the
    # view only accepts a key among the episode's open flags, so nothing else can be named.
    target = forms.CharField(max_length=120, widget=forms.HiddenInput)
    note = forms.CharField(
        label="Note",
        max_length=NOTE_MAX_LENGTH,
        help_text="What you did or will do, in a sentence (seen by your supervisor).",
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean_note(self) -> str:
        note = self.cleaned_data["note"].strip()
        if not note:
            raise forms.ValidationError("Write a short note.")
        return note


def instrument_choices() -> list[tuple[str, str]]:
    return [(i.id, f"{short_title(i)} ({i.id})") for i in instruments().values()]


class PlanEntryForm(forms.Form):
    instrument_id = forms.ChoiceField(label="Questionnaire", choices=instrument_choices)
    every_n_sessions = forms.IntegerField(label="Every n sessions", min_value=1, max_value=52)
    first_session = forms.IntegerField(label="From session", min_value=1, max_value=200)


class BasePlanFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form):
                continue
            instrument_id = form.cleaned_data["instrument_id"]
            if instrument_id in seen:
                raise forms.ValidationError(f"{instrument_id} is listed twice.")
            seen.add(instrument_id)
        if not seen:
            raise forms.ValidationError("Keep at least one questionnaire in the plan.")

    def entries(self) -> list[dict]:
        """The kept rows, in form order."""
        return [
            form.cleaned_data
            for form in self.forms
            if form.has_changed() and not self._should_delete_form(form)
        ]


PlanFormSet = formset_factory(
    PlanEntryForm, formset=BasePlanFormSet, extra=1, can_delete=True, max_num=20, validate_max=True
)
