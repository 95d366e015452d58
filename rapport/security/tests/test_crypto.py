"""Field encryption primitives and key configuration (DP-1..DP-5)."""

import pytest
from django.core.checks import run_checks

from rapport.security import crypto
from rapport.security.tests.keys import fresh_keys, use_field_keys  # noqa: F401 - fixture

KEY_A = crypto.generate_key()
KEY_B = crypto.generate_key()


def test_round_trip_and_key_id_prefix(monkeypatch):
    use_field_keys(monkeypatch, KEY_A)
    stored = crypto.encrypt("Ada Lovelace", label="clinic.clientidentity.given_name")
    key_id = crypto.field_keyring().current.key_id
    assert stored.startswith(f"rf1:{key_id}:")
    assert "Ada" not in stored
    assert crypto.decrypt(stored, label="clinic.clientidentity.given_name") == "Ada Lovelace"


def test_same_plaintext_encrypts_differently_each_time():
    first = crypto.encrypt("Ada", label="x.y.z")
    assert first != crypto.encrypt("Ada", label="x.y.z")


def test_wrong_key_is_a_clear_error_naming_the_field(monkeypatch):
    use_field_keys(monkeypatch, KEY_A)
    stored = crypto.encrypt("Ada", label="clinic.clientidentity.given_name")
    use_field_keys(monkeypatch, KEY_B)
    with pytest.raises(crypto.DecryptionError, match=r"given_name.*not among"):
        crypto.decrypt(stored, label="clinic.clientidentity.given_name")


@pytest.mark.parametrize("position", [12, 20, -3])
def test_flipped_byte_fails_authentication(position):
    stored = crypto.encrypt("Ada Lovelace", label="a.b.c")
    prefix, body = stored.rsplit(":", 1)
    raw = bytearray(crypto.base64.urlsafe_b64decode(body))
    raw[position] ^= 0x01
    tampered = f"{prefix}:{crypto.base64.urlsafe_b64encode(bytes(raw)).decode()}"
    with pytest.raises(crypto.DecryptionError, match="altered or corrupt"):
        crypto.decrypt(tampered, label="a.b.c")


def test_ciphertext_moved_to_another_field_does_not_decrypt():
    stored = crypto.encrypt("Ada", label="clinic.clientidentity.given_name")
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt(stored, label="clinic.clientidentity.family_name")


def test_plaintext_in_an_encrypted_column_is_an_error_not_data():
    with pytest.raises(crypto.DecryptionError, match="not in the encrypted format"):
        crypto.decrypt("Ada Lovelace", label="a.b.c")


def test_old_keys_decrypt_and_reencrypt_moves_to_newest(monkeypatch):
    use_field_keys(monkeypatch, KEY_A)
    old = crypto.encrypt("Ada", label="a.b.c")
    use_field_keys(monkeypatch, KEY_B, KEY_A)
    new = crypto.reencrypt(old, label="a.b.c")
    assert crypto.stored_key_id(new) == crypto.field_keyring().current.key_id
    assert crypto.reencrypt(new, label="a.b.c") == new
    use_field_keys(monkeypatch, KEY_B)
    assert crypto.decrypt(new, label="a.b.c") == "Ada"


def test_keys_from_a_file_newest_first(monkeypatch, tmp_path):
    key_file = tmp_path / "field_keys"
    key_file.write_text(f"# newest first\n{KEY_B}\n\n{KEY_A}\n")
    monkeypatch.delenv(crypto.FIELD_KEYS_ENV)
    monkeypatch.setenv(crypto.FIELD_KEYS_FILE_ENV, str(key_file))
    ring = crypto.field_keyring()
    assert [k.key_id for k in ring.keys] == [
        crypto.parse_key(KEY_B, source="t").key_id,
        crypto.parse_key(KEY_A, source="t").key_id,
    ]


@pytest.mark.parametrize("bad", ["not base64!!", "c2hvcnQ=", f"{KEY_A},{KEY_A}"])
def test_malformed_keys_are_configuration_errors(monkeypatch, bad):
    use_field_keys(monkeypatch, bad)
    with pytest.raises(crypto.KeyConfigurationError):
        crypto.field_keyring()


def test_key_repr_hides_the_secret():
    key = crypto.parse_key(KEY_A, source="t")
    assert KEY_A not in repr(key) and str(key.secret) not in repr(key)


def test_check_fails_with_stable_id_when_no_field_key(monkeypatch, tmp_path):
    monkeypatch.delenv(crypto.FIELD_KEYS_ENV)
    monkeypatch.setenv(crypto.FIELD_KEYS_FILE_ENV, str(tmp_path / "missing"))
    ids = {message.id for message in run_checks(tags=["security"])}
    assert "rapport.E001" in ids


def test_check_fails_with_stable_id_when_no_audit_key(monkeypatch, tmp_path):
    monkeypatch.delenv(crypto.AUDIT_KEY_ENV)
    monkeypatch.setenv(crypto.AUDIT_KEY_FILE_ENV, str(tmp_path / "missing"))
    crypto.reset_key_cache()
    ids = {message.id for message in run_checks(tags=["security"])}
    assert "rapport.E003" in ids


def test_checks_pass_with_configured_keys():
    assert run_checks(tags=["security"]) == []


def test_demo_creates_owner_only_key_files_once(monkeypatch, tmp_path):
    from rapport import cli

    for name in [crypto.FIELD_KEYS_ENV, crypto.AUDIT_KEY_ENV]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path))
    cli.ensure_demo_encryption_keys()
    field_file, audit_file = tmp_path / "field_keys", tmp_path / "audit_key"
    first = field_file.read_text()
    assert crypto.parse_key(first, source="demo") and crypto.parse_key(
        audit_file.read_text(), source="demo"
    )
    assert field_file.stat().st_mode & 0o777 == 0o600
    cli.ensure_demo_encryption_keys()
    assert field_file.read_text() == first
