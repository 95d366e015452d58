"""Bearer tokens: missing, malformed, unknown, expired, revoked, inactive or moved owner."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from rapport.api.models import ApiToken
from rapport.api.tokens import TokenError, create_token, hash_token, revoke_token
from rapport.testing import api_token, bearer, login_verified, make_organisation

pytestmark = pytest.mark.django_db
URL = "/api/v1/clients"


def assert_401(response):
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_token_is_401(client, clinics):
    assert_401(client.get(URL))


def test_a_signed_in_session_is_not_enough(client, clinics):
    login_verified(client, clinics.owner)
    assert_401(client.get(URL))


@pytest.mark.parametrize("header", ["Bearer", "Bearer rpt_nope", "Basic abc", "Token rpt_x"])
def test_malformed_or_unknown_tokens_are_401(client, clinics, header):
    assert_401(client.get(URL, headers={"Authorization": header}))


def test_only_the_hash_is_stored(clinics):
    raw = api_token(clinics.owner)
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(raw)
    assert raw not in {token.token_hash, token.prefix, token.name}


def test_expired_token_is_401(client, clinics):
    raw = api_token(clinics.owner)
    ApiToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert_401(client.get(URL, headers=bearer(raw)))


def test_revoked_token_is_401_at_once(client, clinics):
    raw = api_token(clinics.owner)
    assert client.get(URL, headers=bearer(raw)).status_code == 200
    revoke_token(ApiToken.objects.get())
    assert_401(client.get(URL, headers=bearer(raw)))


def test_deactivated_owner_is_401(client, clinics):
    raw = api_token(clinics.owner)
    clinics.owner.is_active = False
    clinics.owner.save()
    assert_401(client.get(URL, headers=bearer(raw)))


def test_token_is_bound_to_its_organisation(client, clinics):
    raw = api_token(clinics.owner)
    clinics.owner.organisation = make_organisation()
    clinics.owner.save()
    assert_401(client.get(URL, headers=bearer(raw)))


def test_a_token_without_read_scope_cannot_read(client, clinics):
    raw = api_token(clinics.owner, ("write",))
    response = client.get(URL, headers=bearer(raw))
    assert response.status_code == 403
    assert "read" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("scopes", "days"), [((), 30), (("admin",), 30), (("read",), 0), (("read",), 400)]
)
def test_bad_token_requests_are_refused(clinics, scopes, days):
    with pytest.raises(TokenError):
        create_token(clinics.owner, name="x", scopes=scopes, days=days)


def test_last_used_is_recorded(client, clinics):
    raw = api_token(clinics.owner)
    client.get(URL, headers=bearer(raw))
    assert ApiToken.objects.get().last_used_at is not None
