"""Settings for the test suite: production settings plus a throwaway secret key.

The database still comes from RAPPORT_DATABASE_URL, so the same suite runs on SQLite
(default) and on PostgreSQL.
"""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("RAPPORT_SECRET_KEY", "test-only-key-not-secret-" + "x" * 40)

from rapport.settings import *  # noqa: F403

# Fast hashing keeps tests quick; production always hashes with Argon2 first.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Nothing is collected in tests; whitenoise serves from the app folders (finders).
STATIC_ROOT = None
# The test client speaks plain HTTP; everything else stays as in production (secure
# cookies, HSTS). Production settings are checked in rapport/security/tests/test_hardening.py.
SECURE_SSL_REDIRECT = False

# Fixed, public test keys for field encryption and the audit chain (never used elsewhere).
os.environ.setdefault("RAPPORT_FIELD_KEYS", "dGVzdC1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcy0hISE=")
os.environ.setdefault("RAPPORT_AUDIT_KEY", "dGVzdC1vbmx5LWF1ZGl0LWtleS0zMi1ieXRlcy0hISE=")

# The audit anchor file defaults to the checkout's data folder, which `make demo` uses: a
# test run must neither read the demo's anchors (sealed with the demo's key, they fail
# verification) nor append its own to them. Each test run anchors in a folder of its own,
# removed when the run ends (unless the run names one: a test's worker processes do).
if not os.environ.get("RAPPORT_AUDIT_ANCHOR_FILE"):
    _ANCHOR_FOLDER = tempfile.TemporaryDirectory(prefix="rapport-test-anchors-")
    AUDIT_ANCHOR_FILE = Path(_ANCHOR_FOLDER.name) / "audit_anchors.jsonl"
