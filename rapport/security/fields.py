"""Model fields stored encrypted (see :mod:`rapport.security.crypto` for the format).

The column holds ``rf1:<key id>:<ciphertext>`` text; Python code sees plain values. Every
non-null value is encrypted, the empty string included, so that raw SQL never shows a
plaintext value. A value that cannot be decrypted raises
:class:`~rapport.security.crypto.DecryptionError` naming the model and field.

Encrypted values cannot be searched or sorted by value (each encryption uses a fresh
nonce): any lookup other than ``isnull`` raises ``FieldError`` instead of silently
matching nothing. A field that needs equality lookups should store
:func:`~rapport.security.crypto.blind_index` beside it.
"""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import FieldError, ValidationError
from django.db import models

from rapport.core.date_range import validate_in_range
from rapport.security import crypto


class EncryptedMixin:
    """Encrypt on the way into the database, decrypt on the way out."""

    model: Any
    name: str

    @property
    def encryption_label(self) -> str:
        """What the ciphertext is bound to (AES-GCM associated data): ``app.model.field``."""
        return f"{self.model._meta.label_lower}.{self.name}"

    def to_text(self, value: Any) -> str:
        return str(value)

    def from_text(self, text: str) -> Any:
        return text

    def get_prep_value(self, value: Any) -> Any:
        value = self.to_python(value)  # type: ignore[attr-defined]
        if value is None:
            return None
        return crypto.encrypt(self.to_text(value), label=self.encryption_label)

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return self.from_text(crypto.decrypt(value, label=self.encryption_label))

    def get_lookup(self, lookup_name: str) -> Any:
        if lookup_name != "isnull":
            raise FieldError(
                f"{self.encryption_label} is encrypted and cannot be searched by value "
                f"('{lookup_name}'); store a blind index beside it if lookups are needed"
            )
        return super().get_lookup(lookup_name)  # type: ignore[misc]


class EncryptedTextField(EncryptedMixin, models.TextField):
    """Encrypted text. ``max_length`` limits the plaintext in forms, not the column."""

    def to_python(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return str(value)

    def formfield(self, **kwargs: Any) -> Any:
        # A one-line input, as for the CharFields these replace.
        return super().formfield(**{"widget": forms.TextInput, **kwargs})


class EncryptedDateField(EncryptedMixin, models.TextField):
    """An encrypted date, stored as the ISO text of the date."""

    def to_python(self, value: Any) -> datetime.date | None:
        if value is None or value == "":
            return None
        if isinstance(value, datetime.datetime):
            return value.date()
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(str(value))
        except ValueError:
            raise ValidationError(f"{value!r} is not a date in YYYY-MM-DD form") from None

    def to_text(self, value: datetime.date) -> str:
        return value.isoformat()

    def from_text(self, text: str) -> datetime.date:
        return datetime.date.fromisoformat(text)

    def formfield(self, **kwargs: Any) -> Any:
        # A birth date is a date input like any other: the one range applies.
        validators = [validate_in_range, *kwargs.pop("validators", [])]
        return forms.DateField(
            required=not self.blank, label=self.verbose_name, validators=validators, **kwargs
        )


def encrypted_fields(model: type[models.Model]) -> list[EncryptedMixin]:
    """The encrypted fields of ``model`` (concrete ones only)."""
    return [field for field in model._meta.concrete_fields if isinstance(field, EncryptedMixin)]


def models_with_encrypted_fields() -> list[type[models.Model]]:
    from django.apps import apps

    return [model for model in apps.get_models() if encrypted_fields(model)]


def rotate_model(model: type[models.Model], *, batch_size: int = 500) -> int:
    """Re-encrypt every value of ``model`` not yet on the newest field key.

    Works on the stored text with plain SQL, in batches of ``batch_size`` rows by primary
    key, each batch its own transaction: safe to interrupt and run again (rows already on
    the newest key are skipped), and the application keeps running meanwhile. Each
    ``UPDATE`` only applies if the value is still the one that was read, so a concurrent
    edit (already written with the newest key) is never overwritten. Returns the number
    of rows re-encrypted.
    """
    from django.db import connection, transaction

    ring = crypto.field_keyring()
    quote = connection.ops.quote_name
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    fields = encrypted_fields(model)
    columns = [quote(field.column) for field in fields]  # type: ignore[attr-defined]
    select = (
        f"SELECT {pk}, {', '.join(columns)} FROM {table} "  # noqa: S608 - quoted names only
        f"WHERE {pk} > %s ORDER BY {pk} LIMIT %s"
    )
    last_pk: Any = None
    changed = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(select, [last_pk if last_pk is not None else -1, batch_size])
            rows = cursor.fetchall()
            for row_pk, *values in rows:
                updates = {
                    column: (old, crypto.reencrypt(old, label=field.encryption_label, ring=ring))
                    for field, column, old in zip(fields, columns, values, strict=True)
                    if old is not None and crypto.stored_key_id(old) != ring.current.key_id
                }
                if updates:
                    assignments = ", ".join(f"{column} = %s" for column in updates)
                    unchanged = " AND ".join(f"{column} = %s" for column in updates)
                    cursor.execute(
                        f"UPDATE {table} SET {assignments} WHERE {pk} = %s AND {unchanged}",  # noqa: S608
                        [*(new for _, new in updates.values()), row_pk]
                        + [old for old, _ in updates.values()],
                    )
                    changed += cursor.rowcount
        if len(rows) < batch_size:
            return changed
        last_pk = rows[-1][0]


def key_usage(model: type[models.Model]) -> dict[str, int]:
    """How many stored values of ``model`` each key id encrypts (for ``rapport keys status``)."""
    from django.db import connection

    quote = connection.ops.quote_name
    counts: dict[str, int] = {}
    with connection.cursor() as cursor:
        for field in encrypted_fields(model):
            column = quote(field.column)  # type: ignore[attr-defined]
            cursor.execute(
                f"SELECT {column} FROM {quote(model._meta.db_table)} WHERE {column} IS NOT NULL"  # noqa: S608
            )
            for (value,) in cursor.fetchall():
                key_id = crypto.stored_key_id(value) or "plaintext"
                counts[key_id] = counts.get(key_id, 0) + 1
    return counts
