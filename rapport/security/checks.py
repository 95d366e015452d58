"""System checks for the keys (``rapport check``; also run before ``migrate`` and ``serve``).

Stable ids: ``rapport.E001`` no usable field-encryption key, ``rapport.E002`` a field key
fails the encrypt/decrypt round trip, ``rapport.E003`` no usable audit key,
``rapport.E004`` (``check --deploy``) the data folder, the SQLite database, a key file or
the audit anchor file can be read by other accounts on the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from rapport.security import crypto
from rapport.security.private_files import readable_by_others

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


def private_paths() -> list[Path]:
    """The data folder and every file of secrets or records Rapport keeps on disk."""
    paths = [
        settings.DATA_DIR,
        settings.SECRET_KEY_FILE,
        settings.FIELD_KEYS_FILE,
        settings.AUDIT_KEY_FILE,
        settings.AUDIT_ANCHOR_FILE,
    ]
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        database = Path(settings.DATABASES["default"]["NAME"])
        paths += [database, *(database.with_name(database.name + end) for end in ("-wal", "-shm"))]
    return [Path(path) for path in paths if path]


@register("security", deploy=True)
def check_private_permissions(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Error(
            f"{path} can be read by other accounts on this server",
            hint=f"chmod {'700' if path.is_dir() else '600'} {path}",
            id="rapport.E004",
        )
        for path in private_paths()
        if path.exists() and readable_by_others(path)
    ]
