"""Forms for the workspace's state changes: acknowledging an alert, resolving a risk, editing
a plan."""

from __future__ import annotations

import datetime

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from rapport.accounts.forms import MoveCaseloadForm
from rapport.alerts import FlagKind
from rapport.checkin.acknowledgement import NOTE_MAX_LENGTH
from rapport.checkin.models import ContactMethod, RiskOutcome
from rapport.clinic.models import EndReason, Episode, SessionStatus
from rapport.core.date_range import validate_in_range
from rapport.core.instruments import instruments
from rapport.workspace.caseload import CHECKIN_STATES, CaseloadFilters
from rapport.workspace.flags import LABELS as FLAG_LABELS
from rapport.workspace.scheduling import session_time_problems
from rapport.workspace.titles import localized, short_title


class OneLineErrors:
    """Forms posted from the client page report back in one message, not beside fields."""

    def error_sentence(self) -> str:
        return " ".join(str(error) for errors in self.errors.values() for error in errors)


class AcknowledgeForm(OneLineErrors, forms.Form):
    """The clinical record of an acknowledgement (docs/safety.md).

    For a safety alert (``risk_review``) how the client was reached and what the risk
    review found are required and the note optional; for other alerts (stopped check-ins)
    only the note is asked for, and required. The rules themselves are
    :func:`rapport.checkin.acknowledgement.acknowledge_alert`'s; the form repeats them
    so the page can say what is missing next to the field.
    """

    # Which flag: "alert:<uuid>" or "critical:<item>@<session>" (ShownFlag.ack_key); the
    # view only accepts a key among the episode's open flags, so nothing else can be named.
    target = forms.CharField(max_length=120, widget=forms.HiddenInput)
    contact_method = forms.ChoiceField(
        label=_("How was the client reached?"),
        choices=ContactMethod.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    risk_outcome = forms.ChoiceField(
        label=_("Outcome of the risk review"),
        choices=RiskOutcome.choices,
        required=False,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label=_("Note"),
        max_length=NOTE_MAX_LENGTH,
        required=False,
        help_text=_("What you did or will do, in a sentence (seen by your supervisor)."),
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, risk_review: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.risk_review = risk_review

    def clean(self) -> dict:
        data = super().clean()
        data["note"] = (data.get("note") or "").strip()
        if self.risk_review:
            if not data.get("contact_method") and "contact_method" not in self.errors:
                self.add_error("contact_method", _("Choose how the client was reached."))
            if not data.get("risk_outcome") and "risk_outcome" not in self.errors:
                self.add_error("risk_outcome", _("Choose the outcome of the risk review."))
        elif not data["note"] and "note" not in self.errors:
            self.add_error("note", _("Write a short note."))
        return data


class ResolveRiskForm(OneLineErrors, forms.Form):
    """Recording a reviewed risk as resolved: which alert, and why (required)."""

    alert = forms.UUIDField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=_("Why the risk is resolved"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        # Blank or white space only: CharField strips, so both are "required".
        error_messages={"required": _("Write a short note on why the risk is resolved.")},
    )


def instrument_choices() -> list[tuple[str, str]]:
    """(id, the name clinicians use) of every installed questionnaire; two that share a
    short name (a licensed scale beside Rapport's own) are told apart by their full
    titles."""
    installed = list(instruments().values())
    names = [short_title(i) for i in installed]
    return [
        (i.id, localized(i.title, i.id) if names.count(name) > 1 else name)
        for i, name in zip(installed, names, strict=True)
    ]


def plan_row_choices() -> list[tuple[str, str]]:
    """The questionnaires a plan row may name, after an empty choice: without it a
    browser submits the empty row to add one as the first questionnaire, and saving the
    page unchanged fails on that row's blank numbers."""
    return [("", "—"), *instrument_choices()]


class PlanEntryForm(forms.Form):
    instrument_id = forms.ChoiceField(label=_("Questionnaire"), choices=plan_row_choices)
    every_n_sessions = forms.IntegerField(label=_("Every n sessions"), min_value=1, max_value=52)
    first_session = forms.IntegerField(label=_("From session"), min_value=1, max_value=200)

    def clean(self) -> dict:
        cleaned = super().clean()
        instrument = instruments().get(cleaned.get("instrument_id", ""))
        first = cleaned.get("first_session")
        if instrument is not None and first is not None and first < instrument.first_session:
            self.add_error(
                "first_session",
                _(
                    "%(questionnaire)s asks about the last session, so it can start at "
                    "session %(session)d at the earliest."
                )
                % {
                    "questionnaire": dict(instrument_choices()).get(instrument.id, instrument.id),
                    "session": instrument.first_session,
                },
            )
        return cleaned


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
                raise forms.ValidationError(
                    _("%(questionnaire)s is listed twice.")
                    % {
                        "questionnaire": dict(instrument_choices()).get(
                            instrument_id, instrument_id
                        )
                    }
                )
            seen.add(instrument_id)
        if not seen:
            raise forms.ValidationError(_("Keep at least one questionnaire in the plan."))

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

    given_name = forms.CharField(max_length=200, required=False, label=_("Given name"))
    family_name = forms.CharField(max_length=200, required=False, label=_("Family name"))
    email = forms.EmailField(
        max_length=320,
        required=False,
        label=_("E-mail"),
        help_text=_("For check-in links by e-mail."),
    )
    phone = forms.CharField(
        max_length=40,
        required=False,
        label=_("Phone"),
        help_text=_("For check-in links by text message."),
    )
    preferred_language = forms.ChoiceField(
        choices=[("en", _("English")), ("es", _("Spanish"))],
        label=_("Check-in language"),
        help_text=_("The language of the client's check-ins; they can switch on the page."),
    )


class NewClientForm(ClientContactForm):
    """A new client at intake: what a check-in needs, and nothing that is not needed."""

    field_order = ["record_number"]

    record_number = forms.CharField(
        max_length=40,
        label=_("Record number"),
        help_text=_("The clinic's own number for this client, shown on every page."),
    )
    first_session_at = forms.DateTimeField(
        required=False,
        validators=[validate_in_range],
        label=_("First session"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("Optional. Invitations and reminders go out before scheduled sessions."),
    )
    consents_to_care = forms.BooleanField(
        label=_("The client agrees to answer questionnaires as part of their therapy"),
        error_messages={"required": _("Rapport is only used with clients who agree to it.")},
    )
    consents_to_research = forms.BooleanField(
        required=False, label=_("The client agrees to research use of their de-identified answers")
    )


# The longest series one form schedules: half a year of weekly sessions.
MAX_SERIES = 26

SERIES_INTERVALS = {"": None, "weekly": 1, "fortnightly": 2}  # weeks between sessions


class ScheduleSessionForm(OneLineErrors, forms.Form):
    """When the episode's next session is, or the first of a weekly or fortnightly series.

    Every session of the series is checked before any is saved: it must fall within the
    episode, and its therapist must not already have a session (of any client) at that
    minute. A cancelled session frees its time.
    """

    scheduled_at = forms.DateTimeField(
        label=_("Next session"),
        validators=[validate_in_range],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={
            "required": _("enter the date and time of the session."),
            "invalid": _("enter the date and time of the session."),
        },
    )
    repeat = forms.ChoiceField(
        label=_("Repeat"),
        choices=[("", _("Once")), ("weekly", _("Weekly")), ("fortnightly", _("Fortnightly"))],
        required=False,
    )
    count = forms.IntegerField(
        label=_("Number of sessions"),
        min_value=1,
        max_value=MAX_SERIES,
        required=False,
        error_messages={
            "min_value": _("schedule at least 1 session."),
            "max_value": _("schedule at most %(limit_value)s sessions at once."),
            "invalid": _("enter the number of sessions as a whole number."),
        },
    )

    def __init__(self, *args, episode: Episode, **kwargs):
        super().__init__(*args, **kwargs)
        self.episode = episode

    def clean(self) -> dict:
        data = super().clean()
        if self.errors:
            return data
        first = data["scheduled_at"].replace(second=0, microsecond=0)
        weeks = SERIES_INTERVALS[data.get("repeat") or ""]
        count = (data.get("count") or 1) if weeks else 1
        data["times"] = [first + datetime.timedelta(weeks=(weeks or 0) * n) for n in range(count)]
        for problem in session_time_problems(self.episode, data["times"]):
            self.add_error("scheduled_at", problem)
        return data


class CloseEpisodeForm(OneLineErrors, forms.Form):
    """The end of an episode of care: when, and why (outcomes and retention count it).

    Nothing is preselected: the day, the reason and the confirmation are each a choice
    the therapist makes, since a wrong reason skews outcomes and closing stops the links.
    """

    ended_on = forms.DateField(
        label=_("Last day"),
        validators=[validate_in_range],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": _("enter the last day."),
            "invalid": _("enter the last day."),
        },
    )
    end_reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[("", _("Choose a reason…")), *EndReason.choices],
        error_messages={
            "required": _("choose a reason."),
            "invalid_choice": _("choose a reason."),
        },
    )
    confirm = forms.BooleanField(
        label=_(
            "I understand. The episode ends and its open check-in links stop working "
            "(it can be reopened later)."
        ),
        error_messages={"required": _("confirm that you understand what closing does.")},
    )


class HandOverForm(OneLineErrors, MoveCaseloadForm):
    """A colleague of the clinic to take over one client's active episode, chosen (never
    preselected) and confirmed: the therapist loses access to the record."""

    confirm = forms.BooleanField(
        label=_("I understand. You will no longer be able to open this client's record."),
        error_messages={"required": _("confirm that you understand what handing over does.")},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].label = _("Hand this client over to")
        self.fields["to"].empty_label = _("Choose a colleague…")
        self.fields["to"].error_messages = {
            "required": _("choose an active therapist of this clinic."),
            "invalid_choice": _("choose an active therapist of this clinic."),
        }


class SessionStatusForm(forms.Form):
    """Whether the client came: the engagement flag and the attendance counts read it."""

    status = forms.ChoiceField(choices=SessionStatus.choices)


# ?flag= values: the flag kinds by name ("safety", "not_on_track").
FLAG_FILTERS = {kind.name.lower(): kind for kind in FlagKind}
CHECKIN_LABELS = {
    "completed": _("completed"),
    "pending": _("pending"),
    "overdue": _("overdue"),
    "declined": _("declined"),
    "expired": _("expired"),
    "stopped": _("stopped"),
    "none": _("none yet"),
}


class CaseloadFilterForm(forms.Form):
    """The caseload's search and filters, read from the URL (a GET form).

    The therapist is any public id: the caseload is already scoped, so an id that holds
    none of the reader's clients simply shows none.
    """

    q = forms.CharField(label=_("Search"), required=False, max_length=100, strip=True)
    flag = forms.ChoiceField(
        label=_("Flag"),
        required=False,
        choices=[("", _("Any"))] + [(key, FLAG_LABELS[kind]) for key, kind in FLAG_FILTERS.items()],
    )
    checkin = forms.ChoiceField(
        label=_("Check-in"),
        required=False,
        choices=[("", _("Any"))] + [(state, CHECKIN_LABELS[state]) for state in CHECKIN_STATES],
    )
    therapist = forms.UUIDField(label=_("Therapist"), required=False)

    def filters(self) -> CaseloadFilters:
        """The validated filters (call after ``is_valid()``)."""
        data = self.cleaned_data
        return CaseloadFilters(
            search=data["q"],
            flag=FLAG_FILTERS.get(data["flag"]),
            checkin=data["checkin"],
            therapist=str(data["therapist"] or ""),
        )
