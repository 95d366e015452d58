"""System checks for the keys (``rapport check``; also run before ``migrate`` and ``serve``).

Stable ids: ``rapport.E001`` no usable field-encryption key, ``rapport.E002`` a field key
fails the encrypt/decrypt round trip, ``rapport.E003`` no usable audit key.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from rapport.security import crypto

HINT = "Run `rapport keys generate` and put the key in {env} or in the file {file_env} names."


@register("security")
def check_field_keys(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    crypto.reset_key_cache()
    try:
        ring = crypto.field_keyring()
    except crypto.KeyConfigurationError as error:
        hint = HINT.format(env=crypto.FIELD_KEYS_ENV, file_env=crypto.FIELD_KEYS_FILE_ENV)
        return [Error(f"field encryption key: {error}", hint=hint, id="rapport.E001")]
    try:
        crypto.self_check(ring)
    except crypto.DecryptionError as error:
        return [Error(f"field encryption self-check failed: {error}", id="rapport.E002")]
    return []


@register("security")
def check_audit_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    try:
        crypto.audit_keyring()
    except crypto.KeyConfigurationError as error:
        hint = HINT.format(env=crypto.AUDIT_KEY_ENV, file_env=crypto.AUDIT_KEY_FILE_ENV)
        return [Error(f"audit key: {error}", hint=hint, id="rapport.E003")]
    return []
