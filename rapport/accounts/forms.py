"""Sign-in and MFA forms, and the clinic admin's staff account forms."""

from __future__ import annotations

import re

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm, SetPasswordForm, UserCreationForm
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from rapport.accounts import lockout
from rapport.accounts.caseload_moves import active_episodes_of, colleagues_who_can_take_over
from rapport.accounts.models import Role, User
from rapport.security import audit
from rapport.security.network import client_ip

# One message for unknown usernames, wrong passwords and inactive accounts alike, so the
# page never tells a stranger which accounts exist.
INVALID_LOGIN = _("That username and password did not match. Please try again.")
LOCKED_OUT = _(
    "Too many failed sign-in attempts. Please wait 15 minutes and try again, "
    "or ask your clinic admin for help."
)
INVALID_CODE = _("That code did not match. Check that your phone's clock is right and try again.")


class LoginForm(AuthenticationForm):
    """Username and password, refused while a lockout applies (see lockout.py)."""

    error_messages = {
        "invalid_login": INVALID_LOGIN,
        "inactive": INVALID_LOGIN,
        "locked_out": LOCKED_OUT,
    }

    def __init__(self, request, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        self.locked_out = False

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not username or not password:
            return self.cleaned_data  # the field errors say what is missing
        ip = client_ip(self.request)
        if lockout.locked_until(username, ip):
            self.locked_out = True
            audit.record(
                "auth.login",
                request=self.request,
                outcome="denied",
                detail={"reason": "locked_out"},
                **_target_account(username),
            )
            raise forms.ValidationError(self.error_messages["locked_out"], code="locked_out")
        # ModelBackend hashes the password even for unknown usernames, so a wrong
        # username takes as long as a wrong password.
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            self._record_failure(username, ip)
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")
        return self.cleaned_data

    def confirm_login_allowed(self, user):
        # ModelBackend already refuses inactive accounts; keep the message identical if a
        # future backend does not.
        if not user.is_active:
            raise forms.ValidationError(self.error_messages["invalid_login"], code="invalid_login")

    def _record_failure(self, username: str, ip: str | None) -> None:
        lockout.record_failure(username, ip)
        target = _target_account(username)
        audit.record("auth.login", request=self.request, outcome="failure", **target)
        if lockout.locked_until(username, ip):
            self.locked_out = True
            audit.record("auth.lockout", request=self.request, outcome="denied", **target)


def _target_account(username: str) -> dict[str, str]:
    """Audit fields naming the account a failed attempt was aimed at, if it exists.

    What was typed is not logged: people sometimes type their password into the
    username box.
    """
    public_id = User.objects.filter(username=username).values_list("public_id", flat=True)
    for value in public_id:
        return {"object_type": "user", "object_id": str(value)}
    return {"object_type": "user", "object_id": ""}


class CodeForm(forms.Form):
    """A six-digit code from an authenticator app."""

    code = forms.CharField(
        label=_("Six-digit code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"\s", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise forms.ValidationError(_("Enter the six digits shown in your authenticator app."))
        return code


# --- passwords people choose themselves ------------------------------------------------


class NewPasswordForm(SetPasswordForm):
    """A password of the user's own, twice, checked by the password rules.

    It must differ from the one they have: replacing a temporary password with itself
    would leave the admin who set it knowing it.
    """

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("new_password1")
        if password and self.user.has_usable_password() and self.user.check_password(password):
            self.add_error(
                "new_password1",
                forms.ValidationError(
                    _("Choose a password different from the one you were given."), code="same"
                ),
            )
        return cleaned


class ForgotPasswordForm(forms.Form):
    """The e-mail address of a staff account, to send it a reset link."""

    email = forms.EmailField(
        label=_("Your work e-mail address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    def accounts(self):
        """The active staff accounts with this address; may be none (never said)."""
        return User.objects.filter(
            email__iexact=self.cleaned_data["email"], is_active=True, organisation__isnull=False
        )


class TemporaryPasswordForm(SetPasswordForm):
    """A clinic admin's temporary password for a member: checked by the password rules,
    and valid only to choose a new one at the member's next sign-in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].label = _("Temporary password")
        self.fields["new_password2"].label = _("Temporary password again")


# --- staff accounts (clinic admins) -----------------------------------------------------

STAFF_FIELDS = ("first_name", "last_name", "email", "mobile_phone", "role", "supervisor")

_PHONE_NUMBER = re.compile(r"\+?[0-9][0-9 ()./-]{5,38}")


def validate_phone_number(value: str) -> None:
    """A phone number a text-message provider can dial: digits, an optional leading ``+``
    and the usual separators; raises ``ValidationError`` otherwise."""
    if value and not _PHONE_NUMBER.fullmatch(value.strip()):
        raise forms.ValidationError(
            _(
                "Enter a phone number of digits, with an optional leading + "
                "(spaces, dashes and brackets are fine)."
            )
        )


class _StaffRules:
    """What every staff account form checks, for the clinic admin ``acting`` on it.

    A supervisor can only be chosen from the admin's own clinic, and only for a therapist.
    """

    def __init__(self, *args, acting: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.acting = acting
        supervisors = User.objects.filter(
            organisation_id=acting.organisation_id, role=Role.SUPERVISOR, is_active=True
        )
        if self.instance.pk is not None:
            supervisors = supervisors.exclude(pk=self.instance.pk)
        self.fields["supervisor"].queryset = supervisors
        self.fields["supervisor"].required = False
        self.fields["supervisor"].help_text = _("Therapists only: who reviews their caseload.")

    def clean_mobile_phone(self) -> str:
        value = self.cleaned_data.get("mobile_phone", "").strip()
        validate_phone_number(value)
        return value

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("supervisor") is not None and cleaned.get("role") != Role.THERAPIST:
            self.add_error("supervisor", _("Only therapists have a supervisor."))
        return cleaned


class StaffCreateForm(_StaffRules, UserCreationForm):
    """A new staff account in the admin's clinic, with a temporary first password.

    The password is checked by the installation's password validators. The admin knows
    it, so it works once: at their first sign-in the member chooses their own, then sets
    up their authenticator app.
    """

    class Meta:
        model = User
        fields = ("username", *STAFF_FIELDS, "language")
        labels = {"language": _("Language of their pages")}
        help_texts = {"language": _("They can change it themselves under Settings.")}

    def __init__(self, *args, acting: User, **kwargs):
        super().__init__(*args, acting=acting, **kwargs)
        # Optional: a form that leaves it out gets the installation's language.
        self.fields["language"].required = False

    def clean_language(self) -> str:
        return self.cleaned_data.get("language") or settings.LANGUAGE_CODE

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.organisation_id = self.acting.organisation_id
        user.must_change_password = True
        if commit:
            user.save()
        return user


class StaffEditForm(_StaffRules, forms.ModelForm):
    """Name, e-mail, role, supervisor and whether the account may sign in.

    An admin cannot take away their own access (role or active), so a clinic always
    keeps the admin who is making the change; a supervisor keeps their role and access
    until their therapists have another supervisor.
    """

    class Meta:
        model = User
        fields = (*STAFF_FIELDS, "is_active")
        labels = {"is_active": _("May sign in")}
        help_texts = {"is_active": _("Untick to close the account: it is signed out at once.")}

    def clean(self):
        cleaned = super().clean()
        member = self.instance
        loses_role = cleaned.get("role") not in (None, member.role)
        loses_access = member.is_active and cleaned.get("is_active") is False
        if member.pk == self.acting.pk and (loses_role or loses_access):
            raise forms.ValidationError(
                _(
                    "You cannot change your own role or close your own account; "
                    "ask another clinic admin."
                )
            )
        if member.role == Role.SUPERVISOR and (loses_role or loses_access):
            therapists = member.supervisees.filter(is_active=True).count()
            if therapists:
                raise forms.ValidationError(
                    ngettext(
                        "%(member)s supervises %(count)d therapist: give them another "
                        "supervisor first.",
                        "%(member)s supervises %(count)d therapists: give them another "
                        "supervisor first.",
                        therapists,
                    )
                    % {"member": member, "count": therapists}
                )
        if member.role == Role.THERAPIST and (loses_role or loses_access):
            clients = active_episodes_of(member).count()
            if clients:
                raise forms.ValidationError(
                    ngettext(
                        "%(member)s has %(count)d active client: move it to another "
                        "therapist first (Move caseload, below).",
                        "%(member)s has %(count)d active clients: move them to another "
                        "therapist first (Move caseload, below).",
                        clients,
                    )
                    % {"member": member, "count": clients}
                )
        return cleaned


class MoveCaseloadForm(forms.Form):
    """Another therapist of the clinic to take over a therapist's active clients."""

    to = forms.ModelChoiceField(
        queryset=User.objects.none(), label=_("Move every active client to")
    )

    def __init__(self, *args, member: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to"].queryset = colleagues_who_can_take_over(member)


# --- a member's own settings -------------------------------------------------------------


class LanguageForm(forms.ModelForm):
    """The language of the member's pages, one of ``settings.LANGUAGES``."""

    class Meta:
        model = User
        fields = ["language"]
        widgets = {"language": forms.RadioSelect}
