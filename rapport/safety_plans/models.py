"""A safety plan per episode of care, written with the client (see sections.py).

Everything the client or therapist writes is encrypted (names and phone numbers of the
people the client would call included); what is left in plain columns is the plan's
language, when it was last reviewed and who changed it last. The plan belongs to the
episode, so the access layer's episode scope decides who may read it.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from rapport.clinic.models import Episode
from rapport.security.fields import EncryptedTextField

# The languages a plan can be printed in: those the check-in pages are translated into.
LANGUAGES = [(code, name) for code, name in settings.LANGUAGES]
TEXT_MAX_CHARS = 2000


class SafetyPlan(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.OneToOneField(Episode, on_delete=models.CASCADE, related_name="safety_plan")
    language = models.CharField(max_length=10, choices=LANGUAGES, default="en")
    warning_signs = EncryptedTextField(blank=True, default="", max_length=TEXT_MAX_CHARS)
    coping_steps = EncryptedTextField(blank=True, default="", max_length=TEXT_MAX_CHARS)
    distractions = EncryptedTextField(blank=True, default="", max_length=TEXT_MAX_CHARS)
    professional_contacts = EncryptedTextField(blank=True, default="", max_length=TEXT_MAX_CHARS)
    safer_surroundings = EncryptedTextField(blank=True, default="", max_length=TEXT_MAX_CHARS)
    reviewed_on = models.DateField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return f"safety plan of {self.episode}"

    def lines(self, field: str) -> list[str]:
        """The non-blank lines of one text section."""
        return [line.strip() for line in getattr(self, field).splitlines() if line.strip()]


class SafetyPlanContact(models.Model):
    """A person the client can ask for help: a name and a phone number, both encrypted."""

    plan = models.ForeignKey(SafetyPlan, on_delete=models.CASCADE, related_name="contacts")
    position = models.PositiveSmallIntegerField()
    name = EncryptedTextField(max_length=200)
    phone = EncryptedTextField(max_length=40, blank=True, default="")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "position"], name="safety_plan_contact_position_unique"
            )
        ]

    def __str__(self) -> str:
        return f"contact {self.position} of {self.plan}"
