"""GET /api/v1/clients, /clients/{id} and /clients/{id}/identity, per persona and scope."""

from __future__ import annotations

import uuid

import pytest

from rapport.clinic.models import ClientIdentity
from rapport.security.models import AuditEvent
from rapport.testing import api_token, bearer

pytestmark = pytest.mark.django_db


def test_therapist_lists_own_caseload_pseudonymously(client, clinics):
    token = api_token(clinics.owner)
    response = client.get("/api/v1/clients", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 1
    assert body["items"][0]["id"] == str(clinics.owner_client.public_id)
    assert body["items"][0]["record_number"] == clinics.owner_client.record_number
    assert set(body["items"][0]) == {"id", "record_number", "site", "created_at"}


def test_colleague_and_outsider_see_nothing_of_the_owners_client(client, clinics):
    for user in (clinics.colleague, clinics.outsider):
        token = api_token(user)
        assert client.get("/api/v1/clients", headers=bearer(token)).json()["total"] == (
            0 if user is clinics.colleague else 1
        )
        url = f"/api/v1/clients/{clinics.owner_client.public_id}"
        response = client.get(url, headers=bearer(token))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_real_and_unissued_ids_answer_the_same_to_an_outsider(client, clinics):
    token = api_token(clinics.outsider)
    real = client.get(f"/api/v1/clients/{clinics.owner_client.public_id}", headers=bearer(token))
    unissued = client.get(f"/api/v1/clients/{uuid.uuid4()}", headers=bearer(token))
    assert real.status_code == unissued.status_code == 404
    assert real.json() == unissued.json()


@pytest.mark.parametrize("persona", ["clinic_admin", "researcher"])
def test_roles_without_clinical_access_get_403(client, clinics, persona):
    token = api_token(clinics.staff[persona])
    response = client.get("/api/v1/clients", headers=bearer(token))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


def test_identity_needs_the_identity_scope_and_is_audited(client, clinics):
    ClientIdentity.objects.create(
        client=clinics.owner_client, given_name="Ada", family_name="Quill", email="a@example.org"
    )
    url = f"/api/v1/clients/{clinics.owner_client.public_id}/identity"
    read_only = api_token(clinics.owner, ("read",))
    assert client.get(url, headers=bearer(read_only)).status_code == 403
    with_identity = api_token(clinics.owner, ("read", "identity"))
    response = client.get(url, headers=bearer(with_identity))
    assert response.status_code == 200
    assert response.json()["given_name"] == "Ada"
    event = AuditEvent.objects.order_by("-seq").first()
    assert event.action == "api.read_identity"
    assert event.object_id == str(clinics.owner_client.public_id)
    assert "Ada" not in str(event.detail)


def test_identity_is_never_in_the_pseudonymous_views(client, clinics):
    ClientIdentity.objects.create(client=clinics.owner_client, given_name="Zebedee")
    token = api_token(clinics.owner, ("read", "identity"))
    for url in ("/api/v1/clients", f"/api/v1/clients/{clinics.owner_client.public_id}"):
        assert "Zebedee" not in client.get(url, headers=bearer(token)).content.decode()


def test_created_date_filter(client, clinics):
    token = api_token(clinics.owner)
    day = clinics.owner_client.created_at.date().isoformat()
    assert (
        client.get(f"/api/v1/clients?created_from={day}", headers=bearer(token)).json()["total"]
        == 1
    )
    assert (
        client.get("/api/v1/clients?created_to=2000-01-01", headers=bearer(token)).json()["total"]
        == 0
    )
