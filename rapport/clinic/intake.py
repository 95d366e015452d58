"""A new client on a therapist's caseload: record, identity, an episode, a first session.

Everything a check-in needs exists afterwards: the client (its record number unique in the
clinic), the encrypted identity (contact details for check-in links), the preferred
language, an active episode on the clinic's default measurement plan with the admitting
therapist, the consents asked at intake, and optionally the first session. Later changes
of names, contact details and check-in language go through :func:`update_contact`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.accounts.models import User
from rapport.clinic.models import (
    Client,
    ClientDemographics,
    ClientIdentity,
    ConsentKind,
    Episode,
    MeasurementPlan,
    Session,
)
from rapport.security import audit, rights


class IntakeError(ValueError):
    """The client cannot be admitted as asked (the message says why)."""


@dataclass(frozen=True)
class NewClient:
    record_number: str
    given_name: str = ""
    family_name: str = ""
    email: str = ""
    phone: str = ""
    preferred_language: str = "en"
    consents_to_care: bool = False
    consents_to_research: bool = False
    first_session_at: datetime.datetime | None = None


def admit_client(therapist: User, new: NewClient, *, request=None) -> Episode:
    """Create the client of ``new`` on ``therapist``'s caseload, all or nothing; audited.

    Raises :class:`IntakeError` when the record number is taken in the clinic or the
    clinic has no default measurement plan.
    """
    organisation_id = therapist.organisation_id
    plan = MeasurementPlan.objects.filter(organisation_id=organisation_id, is_default=True).first()
    if plan is None:
        raise IntakeError(_("The clinic has no default measurement plan; ask a clinic admin."))
    taken = IntakeError(
        _("Record number %(record)s is already in use here.") % {"record": new.record_number}
    )
    if Client.objects.filter(
        organisation_id=organisation_id, record_number=new.record_number
    ).exists():
        raise taken
    try:
        return _admit(therapist, plan, new, request)
    except IntegrityError:
        # Another admission took the record number since the check above.
        raise taken from None


def _admit(therapist: User, plan: MeasurementPlan, new: NewClient, request) -> Episode:
    with transaction.atomic():
        client = Client.objects.create(
            organisation_id=therapist.organisation_id, record_number=new.record_number
        )
        ClientIdentity.objects.create(
            client=client,
            given_name=new.given_name,
            family_name=new.family_name,
            email=new.email,
            phone=new.phone,
        )
        ClientDemographics.objects.create(client=client, preferred_language=new.preferred_language)
        episode = Episode.objects.create(
            client=client,
            therapist=therapist,
            plan=plan,
            started_on=timezone.localdate(new.first_session_at or timezone.now()),
        )
        audit.record("client.create", request=request, user=therapist, obj=client)
        for kind, granted in (
            (ConsentKind.CARE, new.consents_to_care),
            (ConsentKind.RESEARCH, new.consents_to_research),
        ):
            rights.set_consent(client, kind, granted, user=therapist, request=request)
        if new.first_session_at is not None:
            Session.objects.create(episode=episode, number=1, scheduled_at=new.first_session_at)
    return episode


CONTACT_FIELDS = ("given_name", "family_name", "email", "phone")


def update_contact(client: Client, changes: dict, *, user: User, request=None) -> list[str]:
    """Save the client's names, contact details and check-in language; the changed fields.

    Audited as ``client.update`` with the names of the changed fields, never the values.
    """
    identity, _ = ClientIdentity.objects.get_or_create(client=client)
    demographics, _ = ClientDemographics.objects.get_or_create(client=client)
    changed = [name for name in CONTACT_FIELDS if getattr(identity, name) != changes[name]]
    if demographics.preferred_language != changes["preferred_language"]:
        changed.append("preferred_language")
    if not changed:
        return []
    with transaction.atomic():
        for name in CONTACT_FIELDS:
            setattr(identity, name, changes[name])
        identity.save()
        demographics.preferred_language = changes["preferred_language"]
        demographics.save(update_fields=["preferred_language"])
        audit.record(
            "client.update", request=request, user=user, obj=client, detail={"fields": changed}
        )
    return changed
