"""Password storage and rules in the production settings."""

import importlib

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings

import rapport.settings as production


def test_argon2_is_the_first_password_hasher_in_production():
    reloaded = importlib.reload(production)
    assert reloaded.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"


def test_new_hashes_are_argon2():
    with override_settings(PASSWORD_HASHERS=production.PASSWORD_HASHERS):
        encoded = make_password("a long enough passphrase")
        assert encoded.startswith("argon2")
        assert check_password("a long enough passphrase", encoded)


@pytest.mark.parametrize(
    "password",
    ["short-pw-11", "password1234", "123456789012", "therapist-alice-1", "aaaaaaaaaaaa", "x7" * 32],
)
def test_weak_passwords_are_refused(password):
    from rapport.accounts.models import User

    user = User(username="therapist-alice", first_name="Alice")
    validators = production.AUTH_PASSWORD_VALIDATORS
    with override_settings(AUTH_PASSWORD_VALIDATORS=validators), pytest.raises(ValidationError):
        validate_password(password, user)


@pytest.mark.parametrize(
    "password",
    [
        "the lantern by the orchard gate hums softly after seven rainy evenings",
        "Schnee über den Bergen 2026 ☃",
        "correct horse battery",
    ],
)
def test_long_and_unicode_passwords_are_accepted_without_composition_rules(password):
    with override_settings(AUTH_PASSWORD_VALIDATORS=production.AUTH_PASSWORD_VALIDATORS):
        validate_password(password)
