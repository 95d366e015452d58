"""Finding #15.15: the password policy refuses repeats, sequences and leaked passwords.

Length over complexity: long passphrases pass without any digit or capital.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError


@pytest.mark.parametrize(
    "password",
    [
        "aaaaaaaaaaaa",
        "abababababab",
        "abcdefghijklm",
        "123456789012",
        "qwertyuiopasdf",
        "zyxwvutsrqpo",
    ],
)
def test_repeats_sequences_and_keyboard_rows_are_refused(password):
    with pytest.raises(ValidationError) as refused:
        validate_password(password)
    assert "repeat" in " ".join(refused.value.messages).lower()


@pytest.mark.parametrize(
    "password",
    ["Password1234", "iloveyou2020", "P@ssw0rd1234", "Sunshine12345", "trustno1trustno1"],
)
def test_leaked_passwords_and_their_usual_variants_are_refused(password):
    with pytest.raises(ValidationError):
        validate_password(password)


@pytest.mark.parametrize(
    "password",
    ["plum orchard at dawn 42", "correct horse battery staple", "seven quiet herons over the lake"],
)
def test_long_passphrases_pass_without_composition_rules(password):
    validate_password(password)


def test_a_very_long_password_is_checked_quickly():
    import time

    started = time.monotonic()
    words = ["quiet", "harbour", "lantern", "meadow", "copper"]
    words += ["violin", "garden", "thistle", "ember", "orchard"]
    validate_password(" ".join(f"{word}{index}" for index, word in enumerate(words * 6)))
    assert time.monotonic() - started < 2
