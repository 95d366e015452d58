"""A new clinic on an installation: its organisation, standard plan and first clinic admin.

``rapport clinic create`` calls :func:`create_clinic`; the admin then adds everyone else
on the staff pages.
"""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from rapport.accounts.models import Role, User
from rapport.clinic.models import MeasurementPlan, Organisation, PlanEntry
from rapport.clinic.plans import STANDARD_PLAN, STANDARD_PLAN_NAME
from rapport.core.instruments import instruments
from rapport.security import audit


class ClinicSetupError(ValueError):
    """The clinic cannot be created as asked (the message says why)."""


def create_clinic(
    slug: str, name: str, *, admin_username: str, admin_password: str, admin_email: str = ""
) -> tuple[Organisation, User]:
    """Create the organisation, its standard measurement plan and its first clinic admin.

    All or nothing, in one transaction. Raises :class:`ClinicSetupError` for a slug or
    username already in use, an invalid slug, or a password the installation's password
    rules refuse. The plan holds the standard plan's installed instruments.
    """
    organisation = Organisation(slug=slug, name=name)
    admin = User(username=admin_username, email=admin_email, role=Role.CLINIC_ADMIN)
    try:
        organisation.full_clean()
        admin.full_clean(exclude=["password", "organisation"])
        validate_password(admin_password, admin)
    except ValidationError as error:
        raise ClinicSetupError(" ".join(_messages(error))) from None
    installed = instruments()
    entries = [row for row in STANDARD_PLAN if row.instrument_id in installed]
    with transaction.atomic():
        organisation.save()
        plan = MeasurementPlan.objects.create(
            organisation=organisation, name=STANDARD_PLAN_NAME, is_default=True
        )
        PlanEntry.objects.bulk_create(
            PlanEntry(plan=plan, position=position, **row._asdict())
            for position, row in enumerate(entries)
        )
        admin.organisation = organisation
        admin.set_password(admin_password)
        admin.save()
        audit.record("clinic.create", obj=organisation, detail={"via": "command"})
        audit.record(
            "staff.create",
            obj=admin,
            object_type="user",
            detail={"role": admin.role, "via": "command"},
        )
    return organisation, admin


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            f"{field}: {message}"
            for field, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)
