"""Encrypted model fields on ClientIdentity: ciphertext at rest, rotation, loud failures."""

import base64
import datetime
import importlib
from types import SimpleNamespace

import pytest
from django.core.exceptions import FieldError, ValidationError
from django.db import connection

from rapport.clinic.models import ClientIdentity
from rapport.security import crypto
from rapport.security.fields import key_usage, rotate_model
from rapport.security.tests.keys import fresh_keys, use_field_keys  # noqa: F401 - fixture
from rapport.testing import make_episode, make_organisation, make_user

pytestmark = pytest.mark.django_db

KEY_OLD = crypto.generate_key()
KEY_NEW = crypto.generate_key()


def make_identity(given="Ada", family="Lovelace", **fields):
    client = make_episode(make_user(make_organisation())).client
    return ClientIdentity.objects.create(
        client=client,
        given_name=given,
        family_name=family,
        email=fields.pop("email", "ada@example.org"),
        date_of_birth=fields.pop("date_of_birth", datetime.date(1990, 12, 10)),
        gender_self_description="woman",
        **fields,
    )


def raw_identity_rows():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT given_name, family_name, email, phone, date_of_birth, "
            "gender_self_description, ethnicity_self_description FROM clinic_clientidentity"
        )
        return cursor.fetchall()


def test_raw_sql_shows_ciphertext_not_names():
    make_identity()
    (row,) = raw_identity_rows()
    for value in row:
        prefix, _key_id, token = value.split(":", 2)
        assert prefix == "rf1"
        # The decoded bytes, not the base64 text: a short name such as "Ada" turns up by
        # chance in random base64 about once in a few hundred runs.
        stored = base64.urlsafe_b64decode(token)
        for secret in ["Ada", "Lovelace", "ada@example.org", "1990", "woman"]:
            assert secret.encode() not in stored


def test_orm_reads_plain_values():
    identity = make_identity()
    loaded = ClientIdentity.objects.get(pk=identity.pk)
    assert (loaded.given_name, loaded.family_name) == ("Ada", "Lovelace")
    assert loaded.date_of_birth == datetime.date(1990, 12, 10)
    assert loaded.phone == ""


def test_bulk_create_encrypts():
    client = make_episode(make_user(make_organisation())).client
    ClientIdentity.objects.bulk_create([ClientIdentity(client=client, given_name="Grace")])
    (row,) = raw_identity_rows()
    assert row[0].startswith("rf1:") and row[4] is None
    assert ClientIdentity.objects.get().given_name == "Grace"


def test_searching_an_encrypted_field_by_value_is_refused():
    with pytest.raises(FieldError, match="encrypted and cannot be searched"):
        ClientIdentity.objects.filter(email="ada@example.org").count()
    assert ClientIdentity.objects.filter(date_of_birth__isnull=True).count() == 0


def test_wrong_key_raises_naming_model_and_field(monkeypatch):
    identity = make_identity()
    use_field_keys(monkeypatch, KEY_NEW)
    with pytest.raises(crypto.DecryptionError, match=r"clinic\.clientidentity\.given_name"):
        ClientIdentity.objects.get(pk=identity.pk)


def test_rotation_leaves_every_record_readable_with_the_new_key_alone(monkeypatch):
    use_field_keys(monkeypatch, KEY_OLD)
    identities = [make_identity(given=f"Name{i}") for i in range(7)]
    use_field_keys(monkeypatch, KEY_NEW, KEY_OLD)
    new_id = crypto.field_keyring().current.key_id
    assert rotate_model(ClientIdentity, batch_size=3) == 7
    assert set(key_usage(ClientIdentity)) == {new_id}
    assert rotate_model(ClientIdentity, batch_size=3) == 0  # idempotent
    use_field_keys(monkeypatch, KEY_NEW)
    names = sorted(ClientIdentity.objects.get(pk=i.pk).given_name for i in identities)
    assert names == sorted(f"Name{i}" for i in range(7))


def test_rotation_resumes_after_an_interruption(monkeypatch):
    use_field_keys(monkeypatch, KEY_OLD)
    for i in range(4):
        make_identity(given=f"Name{i}")
    use_field_keys(monkeypatch, KEY_NEW, KEY_OLD)
    first = ClientIdentity.objects.order_by("pk").first()
    first.save()  # written again with the newest key, as a partial earlier run would leave it
    assert rotate_model(ClientIdentity) == 3


def test_keys_rotate_command_is_audited(monkeypatch):
    from django.core.management import call_command

    from rapport.security.models import AuditEvent

    use_field_keys(monkeypatch, KEY_OLD)
    make_identity()
    use_field_keys(monkeypatch, KEY_NEW, KEY_OLD)
    call_command("keys", "rotate")
    event = AuditEvent.objects.get(action="keys.rotate")
    # The identity, and its therapist's account (the mobile number, even empty, is encrypted).
    assert event.detail["rows"] == 2
    assert event.detail["to_key_id"] == crypto.field_keyring().current.key_id


def test_data_migration_encrypts_plaintext_rows():
    migration = importlib.import_module("rapport.clinic.migrations.0002_encrypt_identity_consent")
    identity = make_identity()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE clinic_clientidentity SET given_name = %s, date_of_birth = %s WHERE id = %s",
            ["Plain", "1980-01-02", identity.pk],
        )
    # The data step only needs the editor's connection.
    migration.encrypt_identities(None, SimpleNamespace(connection=connection))
    (row,) = raw_identity_rows()
    assert row[0].startswith("rf1:") and "Plain" not in row[0]
    loaded = ClientIdentity.objects.get(pk=identity.pk)
    assert (loaded.given_name, loaded.family_name) == ("Plain", "Lovelace")
    assert loaded.date_of_birth == datetime.date(1980, 1, 2)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_birth_date_form_field_refuses_dates_out_of_range(day):
    field = ClientIdentity._meta.get_field("date_of_birth").formfield()
    with pytest.raises(ValidationError, match="between 1900-01-01 and 2100-12-31"):
        field.clean(day)
    assert str(field.clean("1984-02-29")) == "1984-02-29"
