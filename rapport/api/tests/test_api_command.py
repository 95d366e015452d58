"""``rapport api token create|list|revoke``."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from rapport.api.models import ApiToken
from rapport.api.tokens import hash_token
from rapport.security.models import AuditEvent

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("api", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_create_prints_the_token_once_and_stores_its_hash(clinics):
    out, err = run("token", "create", "--user", clinics.owner.username, "--scope", "read",
                   "--scope", "identity", "--days", "7")  # fmt: skip
    raw = out.strip()
    token = ApiToken.objects.get()
    assert raw.startswith("rpt_") and token.token_hash == hash_token(raw)
    assert token.scopes == ["identity", "read"]
    assert str(token.public_id) in err
    assert AuditEvent.objects.filter(action="api.token_create").count() == 1
    listing, _ = run("token", "list", "--user", clinics.owner.username)
    assert raw not in listing and "live" in listing


def test_revoke(clinics):
    run("token", "create", "--user", clinics.owner.username, "--scope", "read")
    token = ApiToken.objects.get()
    run("token", "revoke", str(token.public_id))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="api.token_revoke").count() == 1


@pytest.mark.parametrize(
    "args",
    [
        ("token", "create", "--user", "nobody", "--scope", "read"),
        ("token", "revoke", "not-a-uuid"),
        ("token", "revoke", "0b7e4c1e-44a4-4f5e-9d7e-1d7b0f9e6c11"),
    ],
)
def test_clear_errors(clinics, args):
    with pytest.raises(CommandError):
        run(*args)


def test_bad_days_is_a_command_error(clinics):
    with pytest.raises(CommandError, match="days"):
        run("token", "create", "--user", clinics.owner.username, "--scope", "read", "--days", "0")
