"""Saving a safety plan: the plan row and its people, in one transaction, audited.

The audit entry names the fields that changed and how many people the plan lists, never
what was written.
"""

from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from rapport.clinic.models import Episode
from rapport.safety_plans.models import SafetyPlan, SafetyPlanContact
from rapport.security import audit


def save_plan(
    episode: Episode, form, contacts: list[tuple[str, str]], *, request: HttpRequest
) -> SafetyPlan:
    """Store ``form`` (a valid SafetyPlanForm) and ``contacts`` as ``episode``'s plan."""
    fields = list(form.Meta.fields)
    with transaction.atomic():
        # The form has already copied its values onto the instance: compare with the row.
        before = SafetyPlan.objects.filter(pk=form.instance.pk).values(*fields).first() or {}
        plan = form.save(commit=False)
        created = plan.pk is None
        plan.episode = episode
        plan.updated_at = timezone.now()
        plan.updated_by = request.user
        plan.save()
        stored = [(contact.name, contact.phone) for contact in plan.contacts.all()]
        changed = [field for field in fields if before.get(field, "") != getattr(plan, field)]
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
