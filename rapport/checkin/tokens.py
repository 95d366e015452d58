"""Check-in link tokens: 256 random bits in the URL, only their SHA-256 in the database."""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32  # 256 bits; the research floor is 128 (W3C TAG, ASVS 11.5.1)
# token_urlsafe(32) gives 43 characters of the URL-safe base64 alphabet.
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")


def new_token() -> str:
    """A fresh link token from the operating system's CSPRNG."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The stored form of ``token``: its SHA-256 as 64 hex characters.

    A plain hash (no salt, no key) is enough: the token has 256 bits of entropy, so
    nothing can be guessed from the hash, and the lookup is an index equality match on
    the hash, so no timing difference depends on how much of a guessed token is right.
    """
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def looks_like_token(token: str) -> bool:
    """Whether ``token`` has the shape of one of ours (a cheap check before any query)."""
    return bool(TOKEN_PATTERN.fullmatch(token))
