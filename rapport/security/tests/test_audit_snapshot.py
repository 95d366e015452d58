"""`audit.verify` on a live PostgreSQL site: entries appended while it runs do not fail it."""

import threading

import pytest
from django.db import connection, connections

from rapport.security import audit


def append_from_another_connection() -> None:
    try:
        audit.record("test.probe")  # this thread's own connection, committed at once
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_an_entry_committed_during_verification_is_not_beyond_the_end(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the snapshot is PostgreSQL's; SQLite reads without one")
    audit.record("test.probe")
    walk = audit._walk
    appended = []

    def walk_after_a_concurrent_append(head, anchors):
        # Between reading the lane's head and walking its entries, another process
        # appends: what the worker's daily purge met on a busy site (bench/cluster_drill.py).
        if not appended:
            appender = threading.Thread(target=append_from_another_connection)
            appender.start()
            appender.join()
            appended.append(True)
        return walk(head, anchors)

    monkeypatch.setattr(audit, "_walk", walk_after_a_concurrent_append)
    during = audit.verify()
    monkeypatch.undo()

    assert during.ok, during.problem
    assert during.checked == 1  # the snapshot: the entry appended meanwhile is not in it
    assert audit.verify().checked == 2
