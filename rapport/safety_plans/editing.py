"""Saving a safety plan: the plan row and its people, in one transaction, audited.

The audit entry names the parts that changed and how many people the plan lists, never
what was written.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from rapport.accounts.models import User
from rapport.clinic.models import Episode
from rapport.safety_plans.models import SafetyPlan, SafetyPlanContact
from rapport.safety_plans.sections import TEXT_FIELDS
from rapport.security import audit

PLAN_FIELDS = ("language", "reviewed_on", *TEXT_FIELDS)


def save_plan(
    episode: Episode, values: dict, contacts: list[tuple[str, str]], *, request: HttpRequest
) -> SafetyPlan:
    """Store ``values`` (a valid form's cleaned data) and ``contacts`` as ``episode``'s plan.

    The episode's row is locked first, so two saves of a plan not yet written (a double
    click) create one plan and the second updates it, instead of failing.
    """
    with transaction.atomic():
        Episode.objects.select_for_update().filter(pk=episode.pk).first()
        stored_plan = SafetyPlan.objects.filter(episode=episode).first()
        created = stored_plan is None
        plan = SafetyPlan(episode=episode) if stored_plan is None else stored_plan
        before = {} if created else {field: getattr(plan, field) for field in PLAN_FIELDS}
        for field in PLAN_FIELDS:
            setattr(plan, field, values[field])
        changed = [field for field in PLAN_FIELDS if before.get(field, "") != values[field]]
        plan.updated_at = timezone.now()
        plan.updated_by = request.user if isinstance(request.user, User) else None
        plan.save()
        stored = [(contact.name, contact.phone) for contact in plan.contacts.all()]
        if stored != contacts:
            plan.contacts.all().delete()
            SafetyPlanContact.objects.bulk_create(
                SafetyPlanContact(plan=plan, position=position, name=name, phone=phone)
                for position, (name, phone) in enumerate(contacts, start=1)
            )
            changed.append("contacts")
        audit.record(
            "safety_plan.create" if created else "safety_plan.update",
            request=request,
            obj=plan,
            detail={"fields": sorted(changed), "count": len(contacts)},
        )
    return plan
