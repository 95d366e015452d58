"""Test-run configuration shared by every package's tests."""

import os

# A throwaway key so that tests never need a key file; never used outside tests.
os.environ.setdefault("RAPPORT_SECRET_KEY", "test-only-key-not-secret-" + "x" * 40)
