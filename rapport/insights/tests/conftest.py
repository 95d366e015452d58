"""A small synthetic clinic with staff in every role, shared by the insight tests."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.management import call_command

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


@pytest.fixture
def synth_clinic(db) -> SynthClinic:
    return make_synth_clinic()
