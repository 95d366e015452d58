"""The clinic admin's safety-notice settings page: text messages, escalation, fallback.

Clinic admins only (``clinic.manage``), for their own clinic (another clinic's id is a
404). Saving is audited as ``clinic.safety_notices.update`` with the names of the fields
that changed, never their values. What the settings do: rapport/checkin/safety_notices.py
and docs/safety.md.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from rapport.accounts.forms import validate_phone_number
from rapport.checkin.models import SafetyNoticeSettings, safety_notice_settings_for
from rapport.security import audit
from rapport.security.access import get_managed_organisation

# Long enough for a therapist between two sessions; short enough to be a safety net.
MIN_MINUTES, MAX_MINUTES = 15, 24 * 60


class SafetyNoticeSettingsForm(forms.ModelForm):
    """The clinic's choices for safety notices, checked so every notice has a way out."""

    supervisor_after_minutes = forms.IntegerField(
        min_value=MIN_MINUTES,
        max_value=MAX_MINUTES,
        label=_("Notify the supervisor after (minutes)"),
        help_text=_("If the therapist has not acknowledged the alert by then."),
    )
    fallback_after_minutes = forms.IntegerField(
        min_value=MIN_MINUTES,
        max_value=MAX_MINUTES,
        label=_("Then notify the fallback contact after another (minutes)"),
        help_text=_("If the supervisor has not acknowledged it either."),
    )
    fallback_email = forms.EmailField(
        max_length=320, required=False, label=_("Fallback contact: e-mail")
    )
    fallback_phone = forms.CharField(
        max_length=40,
        required=False,
        label=_("Fallback contact: mobile phone"),
        help_text=_("Gets a text message; needs text messages switched on."),
    )

    class Meta:
        model = SafetyNoticeSettings
        fields = (
            "sms_enabled",
            "supervisor_after_minutes",
            "fallback_after_minutes",
            "fallback_email",
            "fallback_phone",
        )
        labels = {"sms_enabled": _("Also send safety notices by text message")}
        help_texts = {
            "sms_enabled": _(
                "To staff who have a mobile number on their account, and to the fallback "
                "phone. E-mail is always sent."
            )
        }

    def clean_fallback_phone(self) -> str:
        value = self.cleaned_data["fallback_phone"].strip()
        validate_phone_number(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("fallback_phone") and not cleaned.get("sms_enabled"):
            self.add_error(
                "fallback_phone",
                gettext("Switch text messages on, or leave the fallback phone empty."),
            )
        if not cleaned.get("fallback_email") and not cleaned.get("fallback_phone"):
            self.add_error(
                "fallback_email",
                gettext(
                    "Give a fallback e-mail or phone: the last step of escalation needs "
                    "someone to reach."
                ),
            )
        return cleaned


@require_http_methods(["GET", "POST"])
def safety_notice_settings(request: HttpRequest) -> HttpResponse:
    """Show and change the clinic's safety-notice settings."""
    organisation = get_managed_organisation(request, action="clinic.safety_notices.read")
    stored = safety_notice_settings_for(organisation.pk)
    form = SafetyNoticeSettingsForm(request.POST or None, instance=stored)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            chosen = form.save(commit=False)
            chosen.changed_at = timezone.now()
            chosen.save()
            audit.record(
                "clinic.safety_notices.update",
                request=request,
                obj=organisation,
                detail={"fields": sorted(form.changed_data)},
            )
        messages.success(request, gettext("Safety notice settings saved."))
        return redirect("checkin-safety-settings")
    return render(
        request,
        "checkin/safety_settings.html",
        {"form": form, "organisation": organisation, "saved": stored.pk is not None},
    )
