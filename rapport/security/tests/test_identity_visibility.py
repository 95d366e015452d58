"""One rule for client identities (names, contact details, birth date), every channel.

The web shows a client's contact details to the treating therapist only; the API's
``identity`` scope and the FHIR export with identity must not give a supervisor what the
web denies them. Issue #15, point 11.
"""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from rapport.clinic.models import ClientIdentity
from rapport.core.instruments import instruments
from rapport.interop.context import InteropError
from rapport.interop.fhir_export import client_bundle
from rapport.security.access import may_see_identity
from rapport.testing import api_token, bearer, login_verified, make_two_clinics

pytestmark = pytest.mark.django_db

FAMILY_NAME = "Quintanilla-Synthetic"


@pytest.fixture
def clinics():
    clinics = make_two_clinics()
    ClientIdentity.objects.create(
        client=clinics.owner_client, given_name="Ada", family_name=FAMILY_NAME
    )
    return clinics


@pytest.mark.parametrize(("persona", "reads"), [("owner", True), ("supervisor", False)])
def test_the_web_and_the_api_agree_on_who_reads_identities(client, clinics, persona, reads):
    user = getattr(clinics, persona)
    assert may_see_identity(user) is reads
    login_verified(client, user)
    page = client.get(reverse("client-contact", args=[clinics.owner_client.public_id]))
    client.logout()
    token = api_token(user, scopes=("read", "identity"))
    api = client.get(
        f"/api/v1/clients/{clinics.owner_client.public_id}/identity", headers=bearer(token)
    )
    assert (page.status_code, api.status_code) == ((200, 200) if reads else (403, 403))
    assert (FAMILY_NAME in page.content.decode()) is reads
    assert (FAMILY_NAME in api.content.decode()) is reads


def test_the_fhir_export_gives_identity_only_to_a_role_that_reads_identities(clinics):
    record, organisation = clinics.owner_client.record_number, clinics.organisation
    bundle = client_bundle(record, organisation, instruments(), identity=True, user=clinics.owner)
    assert FAMILY_NAME in json.dumps(bundle)
    with pytest.raises(InteropError, match="does not read client identities"):
        client_bundle(record, organisation, instruments(), identity=True, user=clinics.supervisor)
    pseudonymous = client_bundle(record, organisation, instruments(), user=clinics.supervisor)
    assert FAMILY_NAME not in json.dumps(pseudonymous)


def test_the_fhir_export_of_a_client_out_of_scope_reads_like_an_unknown_one(clinics):
    record, organisation = clinics.owner_client.record_number, clinics.organisation
    with pytest.raises(InteropError, match="no client with record number") as out_of_scope:
        client_bundle(record, organisation, instruments(), user=clinics.colleague)
    with pytest.raises(InteropError) as unknown:
        client_bundle("R-NEVER", organisation, instruments(), user=clinics.colleague)
    assert str(out_of_scope.value).replace(record, "X") == str(unknown.value).replace(
        "R-NEVER", "X"
    )
