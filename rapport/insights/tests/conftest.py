"""A small synthetic clinic with staff in every role, shared by the insight tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.management import call_command
from django.db import transaction

from rapport.accounts.models import Role, User
from rapport.clinic.models import Organisation


@dataclass
class SynthClinic:
    organisation: Organisation
    supervisor: User
    clinic_admin: User
    researcher: User
    therapist: User


def make_synth_clinic(slug: str = "synthclinic", clients: int = 300, seed: int = 7) -> SynthClinic:
    call_command(
        "synth",
        clients=clients,
        seed=seed,
        org=slug,
        username_prefix=f"{slug}.",
        anchor=__import__("datetime").date(2026, 6, 1),
        no_progress=True,
    )
    organisation = Organisation.objects.get(slug=slug)
    staff = User.objects.filter(organisation=organisation)
    return SynthClinic(
        organisation=organisation,
        supervisor=staff.filter(role=Role.SUPERVISOR).first(),
        clinic_admin=staff.filter(role=Role.CLINIC_ADMIN).first(),
        researcher=staff.filter(role=Role.RESEARCHER).first(),
        therapist=staff.filter(role=Role.THERAPIST).first(),
    )


@pytest.fixture(scope="module")
def module_synth_clinic(django_db_setup, django_db_blocker) -> SynthClinic:
    """One synthetic clinic per test module, rolled back after the module: building it is
    the slow part of most insight tests."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield make_synth_clinic()
        transaction.set_rollback(True)


@pytest.fixture
def synth_clinic(db, module_synth_clinic) -> SynthClinic:
    """The module's synthetic clinic. Each test runs in its own transaction inside the
    module's (rolled back after it) and gets its own copies of the rows, so no test sees
    another's changes."""
    return SynthClinic(
        **{
            role: type(row).objects.get(pk=row.pk)
            for role, row in vars(module_synth_clinic).items()
        }
    )
