"""Keys and authenticated encryption for sensitive fields; keyed MACs for the audit trail.

Cipher: AES-256-GCM (``cryptography``'s ``AESGCM``). A stored value looks like::

    rf1:<key id>:<base64url(12-byte nonce + ciphertext + 16-byte tag)>

* ``rf1`` names the format, so a later format can live beside it.
* The key id is the first 8 hex digits of SHA-256 over a label and the key. It tells the
  decrypter which key to use (no trial decryption), lets ``rapport keys rotate`` find
  rows that are not yet on the newest key, and reveals nothing usable about the key.
* The associated data is the field's label (``clinic.clientidentity.given_name``), so a
  ciphertext copied into another column fails authentication instead of decrypting.

Keys are 32 random bytes, written as URL-safe base64 (``rapport keys generate``). They
come from the environment or from a key file, newest first, and never from the database
or the repository. Every key listed can decrypt; only the first one encrypts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rapport.env import ConfigurationError, env_str

FORMAT_PREFIX = "rf1"
KEY_BYTES = 32
NONCE_BYTES = 12

FIELD_KEYS_ENV = "RAPPORT_FIELD_KEYS"
FIELD_KEYS_FILE_ENV = "RAPPORT_FIELD_KEYS_FILE"
AUDIT_KEY_ENV = "RAPPORT_AUDIT_KEY"
AUDIT_KEY_FILE_ENV = "RAPPORT_AUDIT_KEY_FILE"


class KeyConfigurationError(ConfigurationError):
    """No usable key is configured, or a configured key is malformed."""


class DecryptionError(Exception):
    """A stored value could not be decrypted: wrong or missing key, or altered bytes.

    Never caught to return the stored text instead: showing ciphertext (or nothing) as if
    it were data hides a key problem until it corrupts records.
    """


@dataclass(frozen=True)
class Key:
    key_id: str
    secret: bytes = b""

    def __repr__(self) -> str:
        # Keeps key material out of tracebacks and debug output.
        return f"Key(key_id={self.key_id!r})"


def generate_key() -> str:
    """A new random key in the text form that the key settings accept."""
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def parse_key(text: str, *, source: str) -> Key:
    try:
        secret = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise KeyConfigurationError(
            f"a key in {source} is not URL-safe base64; create keys with `rapport keys generate`"
        ) from None
    if len(secret) != KEY_BYTES:
        raise KeyConfigurationError(
            f"a key in {source} is {len(secret)} bytes long, not {KEY_BYTES}; "
            "create keys with `rapport keys generate`"
        )
    key_id = hashlib.sha256(b"rapport-key-id:" + secret).hexdigest()[:8]
    return Key(key_id=key_id, secret=secret)


def load_keys(env_name: str, file_env_name: str, default_file: Path | None) -> list[Key]:
    """Keys from ``env_name`` (comma-separated) or else a key file, newest first.

    The file is ``file_env_name`` if set, else ``default_file``: one key per line, blank
    lines and ``#`` comments ignored.
    """
    raw = (env_str(env_name) or "").strip()
    if raw:
        texts, source = raw.split(","), env_name
    else:
        file_name = env_str(file_env_name)
        path = Path(file_name) if file_name else default_file
        if path is None or not path.exists():
            raise KeyConfigurationError(
                f"no key configured: set {env_name} or {file_env_name} "
                f"(default file {default_file}); `rapport keys generate` prints a new key"
            )
        lines = path.read_text(encoding="utf-8").splitlines()
        texts, source = [line for line in lines if not line.lstrip().startswith("#")], str(path)
    keys = [parse_key(text, source=source) for text in texts if text.strip()]
    if not keys:
        raise KeyConfigurationError(f"{source} holds no key")
    ids = [key.key_id for key in keys]
    if len(set(ids)) != len(ids):
        raise KeyConfigurationError(f"{source} lists the same key twice")
    return keys


class KeyRing:
    """Keys for one purpose: the first encrypts, every one of them can decrypt."""

    def __init__(self, keys: list[Key]) -> None:
        if not keys:
            raise KeyConfigurationError("a key ring needs at least one key")
        self.keys = list(keys)
        self._by_id = {key.key_id: key for key in keys}

    @property
    def current(self) -> Key:
        return self.keys[0]

    def get(self, key_id: str) -> Key | None:
        return self._by_id.get(key_id)


def _default_file(setting_name: str) -> Path | None:
    from django.conf import settings

    value = getattr(settings, setting_name, None)
    return Path(value) if value else None


_rings: dict[str, KeyRing] = {}


def field_keyring() -> KeyRing:
    if "field" not in _rings:
        keys = load_keys(FIELD_KEYS_ENV, FIELD_KEYS_FILE_ENV, _default_file("FIELD_KEYS_FILE"))
        _rings["field"] = KeyRing(keys)
    return _rings["field"]


def audit_keyring() -> KeyRing:
    if "audit" not in _rings:
        keys = load_keys(AUDIT_KEY_ENV, AUDIT_KEY_FILE_ENV, _default_file("AUDIT_KEY_FILE"))
        _rings["audit"] = KeyRing(keys)
    return _rings["audit"]


def reset_key_cache() -> None:
    """Forget loaded keys so the next use reads the environment and key files again."""
    _rings.clear()


def is_encrypted(value: str) -> bool:
    return value.startswith(FORMAT_PREFIX + ":")


def stored_key_id(value: str) -> str:
    """The key id of a stored value (``""`` if the value is not in the stored format)."""
    parts = value.split(":", 2)
    return parts[1] if len(parts) == 3 and parts[0] == FORMAT_PREFIX else ""


def encrypt(plaintext: str, *, label: str, ring: KeyRing | None = None) -> str:
    """Encrypt ``plaintext`` with the newest key, bound to ``label`` (``app.model.field``)."""
    key = (ring or field_keyring()).current
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key.secret).encrypt(nonce, plaintext.encode("utf-8"), label.encode("utf-8"))
    body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii")
    return f"{FORMAT_PREFIX}:{key.key_id}:{body}"


def decrypt(stored: str, *, label: str, ring: KeyRing | None = None) -> str:
    """The plaintext of ``stored``; raises :class:`DecryptionError` naming ``label``."""
    ring = ring or field_keyring()
    key_id = stored_key_id(stored)
    if not key_id:
        raise DecryptionError(f"{label}: stored value is not in the encrypted format")
    key = ring.get(key_id)
    if key is None:
        raise DecryptionError(
            f"{label}: encrypted with key {key_id}, which is not among the configured keys "
            f"({', '.join(k.key_id for k in ring.keys)})"
        )
    try:
        blob = base64.urlsafe_b64decode(stored.split(":", 2)[2].encode("ascii"))
        nonce, sealed = blob[:NONCE_BYTES], blob[NONCE_BYTES:]
        plain = AESGCM(key.secret).decrypt(nonce, sealed, label.encode("utf-8"))
    except (InvalidTag, binascii.Error, ValueError):
        raise DecryptionError(
            f"{label}: value does not authenticate under key {key_id} (altered or corrupt)"
        ) from None
    return plain.decode("utf-8")


def reencrypt(stored: str, *, label: str, ring: KeyRing | None = None) -> str:
    """``stored`` re-encrypted with the newest key (unchanged if already on it)."""
    ring = ring or field_keyring()
    if stored_key_id(stored) == ring.current.key_id:
        return stored
    return encrypt(decrypt(stored, label=label, ring=ring), label=label, ring=ring)


def mac(message: bytes, key: Key) -> str:
    """HMAC-SHA256 of ``message`` as hex."""
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def blind_index(value: str, *, label: str, ring: KeyRing | None = None) -> str:
    """A keyed HMAC of a normalised value, for equality lookups on an encrypted field.

    Not used yet (nothing looks clients up by e-mail); kept here so that the first lookup
    field uses the same construction. Tied to the newest field key: rotating keys means
    recomputing indexes.
    """
    key = (ring or field_keyring()).current
    return mac(f"{label}:{value.strip().casefold()}".encode(), key)


def self_check(ring: KeyRing) -> None:
    """Round-trip a probe value through every key; raises if any key cannot."""
    for key in ring.keys:
        probe = f"probe-{secrets.token_hex(4)}"
        single = KeyRing([key])
        sealed = encrypt(probe, label="self-check", ring=single)
        if decrypt(sealed, label="self-check", ring=single) != probe:
            raise DecryptionError(f"key {key.key_id} failed the round-trip self-check")
