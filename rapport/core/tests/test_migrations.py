"""The models and the migrations describe the same schema.

A model change without its migration works in the tests (which build the schema from
the migrations) only by accident, and then fails on a clinic's database at upgrade.
"""

import io

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration():
    out = io.StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, verbosity=1)
    except SystemExit as exit_:  # --check exits non-zero when a migration is missing
        pytest.fail(f"models differ from the migrations (exit {exit_.code}):\n{out.getvalue()}")
