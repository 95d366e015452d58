"""Transactional tests (live server, threads) may write audit entries on both databases.

The shared fixture in rapport/conftest.py empties the audit tables before the test
database is flushed; these two tests run in order and show that the flush succeeds and
that the append-only triggers are back afterwards.
"""

import pytest
from django.db import DatabaseError, connection, transaction

from rapport.security import audit


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_can_write_audit_entries():
    audit.record("test.probe")


@pytest.mark.django_db
def test_the_triggers_are_in_place_after_a_transactional_test():
    audit.record("test.probe")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM security_auditevent")
