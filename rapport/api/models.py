"""Personal access tokens for integrations, and the per-token request counters.

A token belongs to one staff member and one organisation and acts with that member's
role through the access layer, narrowed by its scopes. Only the SHA-256 of the token is
stored: the token itself is shown once, when it is created (see tokens.py).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    READ = "read", "Read pseudonymous records"
    WRITE = "write", "Create records (check-in links)"
    IDENTITY = "identity", "Read client identities (names, contact details)"


class ApiToken(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(
        "clinic.Organisation", on_delete=models.CASCADE, related_name="api_tokens"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    # Hex SHA-256 of the whole token; the token has 256 random bits, so no salt is needed
    # and a unique index finds it in one lookup.
    token_hash = models.CharField(max_length=64, unique=True)
    # The first characters of the token, shown in listings so a person can tell tokens apart.
    prefix = models.CharField(max_length=12)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"API token {self.prefix}… ({self.name})"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes
