"""A member's own settings: the language of their pages."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rapport.accounts.forms import LanguageForm
from rapport.accounts.models import User
from rapport.security import audit


@require_http_methods(["GET", "POST"])
def account_settings(request: HttpRequest) -> HttpResponse:
    """Choose the language every page is shown in after sign-in; the change is audited."""
    member = request.user
    if not isinstance(member, User):
        raise PermissionDenied  # the staff gate lets only signed-in members reach this
    before = member.language
    form = LanguageForm(request.POST or None, instance=member)
    if request.method == "POST" and form.is_valid():
        form.save()
        if member.language != before:
            audit.record(
                "staff.language.change",
                request=request,
                obj=member,
                object_type="user",
                detail={"language": member.language},
            )
        # The confirmation already speaks the language just chosen.
        with translation.override(member.language):
            messages.success(request, _("Your settings were saved."))
        return redirect("account-settings")
    return render(request, "accounts/account_settings.html", {"form": form})
