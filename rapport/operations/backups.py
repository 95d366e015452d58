"""Encrypted, authenticated backups of the whole database, and their restore.

``create`` writes one consistent snapshot: every table is read as of one moment
(:func:`rapport.core.snapshot.read_snapshot`: REPEATABLE READ on PostgreSQL, a deferred
read transaction on SQLite; neither holds up writers), serialized with Django's JSON
serializer so a backup taken on SQLite restores into PostgreSQL and back. The file is
gzip-compressed and sealed with AES-256-GCM under ``RAPPORT_BACKUP_KEY`` (or
``RAPPORT_BACKUP_KEY_FILE``): a changed, truncated or foreign file fails authentication
and is refused before anything is written.

File layout: ``MAGIC``, one byte with the length of the key id, the key id, a 12-byte
nonce, then the ciphertext. The magic and key id are authenticated as associated data.

Left out, because they are rebuilt or transient: content types and permissions (created
by ``migrate``), sign-in sessions, rate-limit counters, the insight caches and episode
summaries (recomputed), the worker's queue, schedules and heartbeat.
"""

from __future__ import annotations

import datetime
import gzip
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.apps import apps
from django.core import serializers
from django.core.management.color import no_style
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models, transaction
from django.utils import timezone

from rapport.core.snapshot import read_snapshot
from rapport.operations.models import BackupRun
from rapport.security.crypto import Key, load_keys

MAGIC = b"RAPPORT-BACKUP\x00v1\n"
FORMAT_VERSION = 1
NONCE_BYTES = 12
BACKUP_KEY_ENV = "RAPPORT_BACKUP_KEY"
BACKUP_KEY_FILE_ENV = "RAPPORT_BACKUP_KEY_FILE"

EXCLUDED_APPS = {"contenttypes", "sessions", "django_q"}
EXCLUDED_MODELS = {
    "auth.permission",
    "security.ratelimitcounter",
    "insights.insightsnapshot",
    "insights.episodesummary",
    "insights.staleepisodesummary",
    "operations.workerheartbeat",
    "operations.backuprun",
}


class ExactJSONEncoder(DjangoJSONEncoder):
    """Keeps microseconds, which Django's JSON encoder drops: the audit chain's MACs
    cover the exact time of each entry, so a rounded time would break verification."""

    def default(self, o: object) -> object:
        if isinstance(o, datetime.datetime | datetime.time):
            return o.isoformat()
        return super().default(o)


class BackupError(Exception):
    """A backup cannot be written, read or restored; the message says why."""


@dataclass(frozen=True)
class BackupSummary:
    created_at: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def backed_up_models() -> list[type[models.Model]]:
    """The models a backup holds, parents before the models that refer to them."""
    chosen = [
        model
        for model in apps.get_models()
        if model._meta.app_label not in EXCLUDED_APPS
        and model._meta.label_lower not in EXCLUDED_MODELS
        and model._meta.managed
        and not model._meta.proxy
    ]
    by_app: dict = {}
    for model in chosen:
        by_app.setdefault(model._meta.app_config, []).append(model)
    return serializers.sort_dependencies(list(by_app.items()))


def backup_keys() -> list[Key]:
    return load_keys(BACKUP_KEY_ENV, BACKUP_KEY_FILE_ENV, None)


def create(out: Path) -> BackupSummary:
    """Write an encrypted snapshot of the database to ``out`` (which must not exist)."""
    key = backup_keys()[0]
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name")
    with read_snapshot():
        counts: dict[str, int] = {}
        objects: list = []
        for model in backed_up_models():
            rows = serializers.serialize(
                "python", model._base_manager.order_by("pk"), use_natural_foreign_keys=True
            )
            counts[model._meta.label_lower] = len(rows)
            objects.extend(rows)
    created_at = timezone.now()
    document = {
        "format": FORMAT_VERSION,
        "created_at": created_at.isoformat(),
        "counts": counts,
        "objects": objects,
    }
    text = json.dumps(document, cls=ExactJSONEncoder, separators=(",", ":"))
    plain = gzip.compress(text.encode("utf-8"))
    sealed = _seal(plain, key)
    # Owner-only from the first byte; O_EXCL never overwrites an older backup.
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(sealed)
        handle.flush()
        os.fsync(handle.fileno())
    summary = BackupSummary(created_at.isoformat(), counts)
    BackupRun.objects.create(created_at=created_at, rows=summary.total)
    return summary


def _seal(plain: bytes, key: Key) -> bytes:
    key_id = key.key_id.encode("ascii")
    nonce = secrets.token_bytes(NONCE_BYTES)
    header = MAGIC + bytes([len(key_id)]) + key_id
    return header + nonce + AESGCM(key.secret).encrypt(nonce, plain, header)


def _open(path: Path) -> dict:
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise BackupError(f"{path} is not a Rapport backup")
    id_length_at = len(MAGIC)
    if len(data) <= id_length_at:
        raise BackupError(f"{path} is truncated")
    key_id_end = id_length_at + 1 + data[id_length_at]
    header, key_id = (
        data[:key_id_end],
        data[id_length_at + 1 : key_id_end].decode("ascii", "replace"),
    )
    nonce, ciphertext = (
        data[key_id_end : key_id_end + NONCE_BYTES],
        data[key_id_end + NONCE_BYTES :],
    )
    key = next((key for key in backup_keys() if key.key_id == key_id), None)
    if key is None:
        raise BackupError(
            f"{path} was sealed with backup key {key_id}, which {BACKUP_KEY_ENV} does not hold"
        )
    try:
        plain = AESGCM(key.secret).decrypt(nonce, ciphertext, header)
    except (InvalidTag, ValueError):
        raise BackupError(
            f"{path} failed authentication: it is truncated or was changed after it was "
            "written. Nothing was restored."
        ) from None
    document = json.loads(gzip.decompress(plain))
    if document.get("format") != FORMAT_VERSION:
        raise BackupError(f"{path} has backup format {document.get('format')!r}, not 1")
    return document


def verify(path: Path) -> BackupSummary:
    """Authenticate and parse a backup without touching the database."""
    return _checked_summary(path, _open(path))


def _checked_summary(path: Path, document: dict) -> BackupSummary:
    known = {model._meta.label_lower for model in apps.get_models()}
    unknown = sorted(set(document["counts"]) - known)
    if unknown:
        raise BackupError(f"{path} holds tables this version does not know: {unknown}")
    if sum(document["counts"].values()) != len(document["objects"]):
        raise BackupError(f"{path} is inconsistent: its counts do not match its rows")
    return BackupSummary(document["created_at"], document["counts"])


def restore(path: Path) -> BackupSummary:
    """Load a verified backup into this database, which must be migrated and empty."""
    document = _open(path)
    summary = _checked_summary(path, document)
    restored_models = backed_up_models()
    not_empty = [m._meta.label_lower for m in restored_models if m._base_manager.exists()]
    if not_empty:
        raise BackupError(
            "restore only goes into an empty database (run `rapport migrate` on a new one); "
            f"these tables have rows: {', '.join(not_empty[:5])}"
        )
    with transaction.atomic():
        with connection.constraint_checks_disabled():
            for item in serializers.deserialize(
                "python", document["objects"], handle_forward_references=True
            ):
                item.save()
        connection.check_constraints()
        statements = connection.ops.sequence_reset_sql(no_style(), restored_models)
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
    return summary
