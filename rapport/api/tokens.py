"""Creating, checking and revoking personal access tokens (see models.ApiToken).

A token reads ``rpt_`` followed by 43 URL-safe characters (256 random bits). Only its
SHA-256 is stored; the token is returned once by :func:`create_token` and cannot be
recovered afterwards: a lost token is revoked and replaced.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from rapport.accounts.models import User
from rapport.api.models import ApiToken, Scope
from rapport.security import audit

TOKEN_PREFIX = "rpt_"  # noqa: S105 - a public marker, not a secret
DEFAULT_LIFETIME_DAYS = 90
MAX_LIFETIME_DAYS = 366
# last_used_at is informative; writing it more often than this only costs database writes.
LAST_USED_RESOLUTION = datetime.timedelta(minutes=1)


class TokenError(ValueError):
    """A token cannot be created or revoked as asked."""


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_token(
    user: User, *, name: str, scopes: Iterable[str], days: int = DEFAULT_LIFETIME_DAYS
) -> tuple[ApiToken, str]:
    """A new token for ``user`` in ``user``'s organisation: ``(row, raw token)`` (audited)."""
    scope_list = sorted(set(scopes))
    unknown = sorted(set(scope_list) - set(Scope.values))
    if unknown or not scope_list:
        raise TokenError(f"scopes must be some of {', '.join(Scope.values)}; got {scope_list}")
    if not 1 <= days <= MAX_LIFETIME_DAYS:
        raise TokenError(f"a token lives 1 to {MAX_LIFETIME_DAYS} days; got {days}")
    if user.organisation_id is None or not user.is_active:
        raise TokenError(f"{user.username} is inactive or belongs to no organisation")
    if not name.strip():
        raise TokenError("give the token a name that says which integration uses it")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            organisation_id=user.organisation_id,
            user=user,
            name=name.strip()[:100],
            token_hash=hash_token(raw),
            prefix=raw[:10],
            scopes=scope_list,
            created_at=now,
            expires_at=now + datetime.timedelta(days=days),
        )
        audit.record(
            "api.token_create",
            user=user,
            obj=token,
            detail={"fields": scope_list, "expires_at": token.expires_at.isoformat()},
        )
    return token, raw


def revoke_token(token: ApiToken, *, user: User | None = None) -> None:
    """Revoke ``token`` at once (audited); revoking twice changes nothing."""
    if token.revoked_at is not None:
        return
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record("api.token_revoke", user=user or token.user, obj=token)


def usable_token(raw: str) -> ApiToken | None:
    """The live token ``raw`` stands for, or None (unknown, revoked, expired, or its owner
    is inactive or has left the token's organisation)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "organisation")
        .filter(token_hash=hash_token(raw))
        .first()
    )
    now = timezone.now()
    if token is None or not token.is_usable(now):
        return None
    if not token.user.is_active or token.user.organisation_id != token.organisation_id:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
