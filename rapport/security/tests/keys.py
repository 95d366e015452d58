"""Key handling shared by the encryption tests."""

import pytest

from rapport.security import crypto


@pytest.fixture(autouse=True)
def fresh_keys(monkeypatch):
    """Each test starts and ends with the key cache empty, whatever keys it set."""
    crypto.reset_key_cache()
    yield monkeypatch
    crypto.reset_key_cache()


def use_field_keys(monkeypatch, *keys: str) -> None:
    monkeypatch.setenv(crypto.FIELD_KEYS_ENV, ",".join(keys))
    crypto.reset_key_cache()
