"""Forms for the workspace's state changes: acknowledging an alert, editing a plan."""

from __future__ import annotations

from django import forms
from django.forms import formset_factory

from rapport.accounts.forms import MoveCaseloadForm
from rapport.checkin.registry import instruments
from rapport.clinic.models import EndReason, SessionStatus
from rapport.core.date_range import validate_in_range
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


class ClientContactForm(forms.Form):
    """The client's names and contact details (stored encrypted) and check-in language."""

    given_name = forms.CharField(max_length=200, required=False, label="Given name")
    family_name = forms.CharField(max_length=200, required=False, label="Family name")
    email = forms.EmailField(
        max_length=320, required=False, label="E-mail", help_text="For check-in links by e-mail."
    )
    phone = forms.CharField(
        max_length=40, required=False, help_text="For check-in links by text message."
    )
    preferred_language = forms.ChoiceField(
        choices=[("en", "English"), ("es", "Spanish")],
        label="Check-in language",
        help_text="The language of the client's check-ins; they can switch on the page.",
    )


class NewClientForm(ClientContactForm):
    """A new client at intake: what a check-in needs, and nothing that is not needed."""

    field_order = ["record_number"]

    record_number = forms.CharField(
        max_length=40, help_text="The clinic's own number for this client, shown on every page."
    )
    first_session_at = forms.DateTimeField(
        required=False,
        validators=[validate_in_range],
        label="First session",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Optional. Invitations and reminders go out before scheduled sessions.",
    )
    consents_to_care = forms.BooleanField(
        label="The client agrees to answer questionnaires as part of their therapy",
        error_messages={"required": "Rapport is only used with clients who agree to it."},
    )
    consents_to_research = forms.BooleanField(
        required=False, label="The client agrees to research use of their de-identified answers"
    )


class ScheduleSessionForm(forms.Form):
    """When the episode's next session is."""

    scheduled_at = forms.DateTimeField(
        label="Next session",
        validators=[validate_in_range],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class CloseEpisodeForm(forms.Form):
    """The end of an episode of care: when, and why (outcomes and retention count it)."""

    ended_on = forms.DateField(
        label="Last day",
        validators=[validate_in_range],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end_reason = forms.ChoiceField(label="Reason", choices=EndReason.choices)


class HandOverForm(MoveCaseloadForm):
    """A colleague of the clinic to take over one client's active episode."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].label = "Hand this client over to"


class SessionStatusForm(forms.Form):
    """Whether the client came: the engagement flag and the attendance counts read it."""

    status = forms.ChoiceField(choices=SessionStatus.choices)
