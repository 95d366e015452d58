"""The safety plan of an episode: read, edit (the treating therapist), print.

One scoped lookup per view through the access layer, which also writes the audit entry:
therapists reach their own clients' plans, supervisors their team's (read only); other
roles get 403 and other clinics' or colleagues' episodes 404.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from rapport.checkin.answers import LANGUAGES
from rapport.checkin.crisis import crisis_contacts
from rapport.clinic.models import ClientDemographics, Episode, EpisodeStatus
from rapport.safety_plans.editing import save_plan
from rapport.safety_plans.forms import ContactFormSet, SafetyPlanForm, filled_contacts
from rapport.safety_plans.models import SafetyPlan
from rapport.safety_plans.sections import SECTIONS
from rapport.security.access import (
    CHANGE_CARE,
    get_episode_or_404,
    has_permission,
    require_permission,
)


def _plan_of(episode: Episode) -> SafetyPlan | None:
    return SafetyPlan.objects.filter(episode=episode).prefetch_related("contacts").first()


def _client_language(episode: Episode) -> str:
    """The client's preferred language if a plan can be printed in it, else English."""
    preferred = (
        ClientDemographics.objects.filter(client_id=episode.client_id)
        .values_list("preferred_language", flat=True)
        .first()
    )
    return preferred if preferred in LANGUAGES else "en"


def _sections(plan: SafetyPlan | None) -> list[dict]:
    """Each section's heading with its lines (or people), for showing and printing."""
    return [
        {
            "heading": section.heading,
            "is_people": section.is_people,
            "entries": (
                list(plan.contacts.all()) if section.is_people else plan.lines(section.field)
            )
            if plan
            else [],
        }
        for section in SECTIONS
    ]


@require_http_methods(["GET", "POST"])
def safety_plan(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The plan: a form for the treating therapist, read only for their supervisor."""
    if request.method == "POST":
        require_permission(request.user, CHANGE_CARE)
    action = "safety_plan.read" if request.method == "GET" else "safety_plan.edit"
    episode = get_episode_or_404(request, public_id, action=action)
    plan = _plan_of(episode)
    # Therapists only ever reach their own episodes; a closed episode's plan is history.
    editable = has_permission(request.user, CHANGE_CARE) and episode.status == EpisodeStatus.ACTIVE
    if request.method == "POST" and not editable:
        raise Http404
    context: dict[str, Any] = {"episode": episode, "plan": plan, "editable": editable}
    if not editable:
        context["sections"] = _sections(plan)
        return render(request, "safety_plans/plan.html", context)
    if request.method == "POST":
        form = SafetyPlanForm(request.POST, instance=plan)
        contacts = ContactFormSet(request.POST, prefix="contacts")
        if form.is_valid() and contacts.is_valid():
            save_plan(episode, form.cleaned_data, filled_contacts(contacts), request=request)
            messages.success(request, _("Safety plan saved."))
            return redirect("episode-safety-plan", public_id=episode.public_id)
    else:
        initial = (
            {}
            if plan
            else {"language": _client_language(episode), "reviewed_on": timezone.localdate()}
        )
        form = SafetyPlanForm(instance=plan, initial=initial)
        people = [{"name": c.name, "phone": c.phone} for c in plan.contacts.all()] if plan else []
        contacts = ContactFormSet(initial=people, prefix="contacts")
    context.update({"form": form, "contacts": contacts, "sections": SECTIONS})
    return render(request, "safety_plans/plan.html", context)


@require_GET
def safety_plan_print(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The plan to print and give to the client, in the plan's language.

    Without a plan, the same page with empty sections: a blank plan to fill in by hand.
    The clinic's crisis contacts for that language close the page.
    """
    episode = get_episode_or_404(request, public_id, action="safety_plan.print")
    plan = _plan_of(episode)
    language = plan.language if plan else _client_language(episode)
    context = {
        "episode": episode,
        "plan": plan,
        "lang": language,
        "sections": _sections(plan),
        "crisis": crisis_contacts(episode.client.organisation_id, language),
        "clinic": episode.client.organisation.name,
    }
    with translation.override(language):
        return render(request, "safety_plans/print.html", context)
