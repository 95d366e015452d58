"""Staff accounts: every user belongs to one organisation and holds one role."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from rapport.security.fields import EncryptedTextField


class Role(models.TextChoices):
    THERAPIST = "therapist", _("Therapist")
    SUPERVISOR = "supervisor", _("Supervisor")
    CLINIC_ADMIN = "clinic_admin", _("Clinic admin")
    RESEARCHER = "researcher", _("Researcher")


class User(AbstractUser):
    """A member of staff. Clients never have accounts."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "clinic.Organisation",
        on_delete=models.PROTECT,
        related_name="staff",
        null=True,
        blank=True,
        help_text="Empty only for operator accounts that manage the installation itself.",
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.THERAPIST)
    supervisor = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="supervisees",
        limit_choices_to={"role": Role.SUPERVISOR},
        verbose_name=_("supervisor"),
    )
    must_change_password = models.BooleanField(
        default=False,
        help_text=(
            "The password was set by a clinic admin, so someone else knows it: at the next "
            "sign-in the member chooses a new one before anything else (passwords.py)."
        ),
    )
    # For urgent safety notices by text message (docs/safety.md); encrypted like clients'
    # contact details, since a personal number identifies its holder outside the clinic.
    mobile_phone = EncryptedTextField(
        max_length=40,
        blank=True,
        verbose_name=_("mobile phone"),
        help_text=_("For urgent safety notices by text message, where the clinic sends them."),
    )
    # The language of every staff page this member sees once signed in (StaffLanguage-
    # Middleware); before sign-in, pages follow the browser's Accept-Language instead.
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
        help_text=_("The language of the pages you see after signing in."),
    )

    class Meta:
        ordering = ["last_name", "first_name", "username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_therapist(self) -> bool:
        return self.role == Role.THERAPIST


class LoginFailure(models.Model):
    """One failed sign-in attempt, kept for a day to drive the lockout (see lockout.py).

    ``username`` is what was typed (normalised), whether or not such an account exists,
    so that unknown usernames are locked out exactly like real ones.
    """

    username = models.CharField(max_length=150)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    occurred_at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["username", "occurred_at"]),
            models.Index(fields=["ip_address", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"failed sign-in at {self.occurred_at:%Y-%m-%d %H:%M}"
