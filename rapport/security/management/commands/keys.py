"""``rapport keys generate|rotate|status``: field-encryption key management."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from rapport.security import audit, crypto
from rapport.security.fields import key_usage, models_with_encrypted_fields, rotate_model


class Command(BaseCommand):
    help = "Generate a key, re-encrypt every field with the newest key, or show key usage."
    # `generate` must work before any key exists, so the key checks cannot gate it.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        actions.add_parser("generate", help="print a new random key")
        rotate = actions.add_parser(
            "rotate", help="re-encrypt every encrypted value with the first (newest) key"
        )
        rotate.add_argument("--batch-size", type=int, default=500)
        actions.add_parser("status", help="count stored values per key id")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "generate":
            self.stdout.write(crypto.generate_key())
        elif action == "rotate":
            self._rotate(options["batch_size"])
        else:
            self._status()

    def _rotate(self, batch_size: int) -> None:
        if batch_size < 1:
            raise ValueError("--batch-size must be at least 1")
        ring = crypto.field_keyring()
        total = 0
        for model in models_with_encrypted_fields():
            changed = rotate_model(model, batch_size=batch_size)
            total += changed
            self.stdout.write(f"{model._meta.label}: {changed} rows re-encrypted")
        audit.record(
            "keys.rotate",
            detail={
                "to_key_id": ring.current.key_id,
                "from_key_ids": [key.key_id for key in ring.keys[1:]],
                "rows": total,
                "via": "cli",
            },
        )
        self.stdout.write(
            f"done: every value is on key {ring.current.key_id}; older keys can be removed"
        )

    def _status(self) -> None:
        self.stdout.write(f"newest key: {crypto.field_keyring().current.key_id}")
        for model in models_with_encrypted_fields():
            counts = sorted(key_usage(model).items())
            usage = ", ".join(f"{key_id}: {count}" for key_id, count in counts)
            self.stdout.write(f"{model._meta.label}: {usage or 'no values'}")
