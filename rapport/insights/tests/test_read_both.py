"""On PostgreSQL the insights read the episode summaries on a second connection while
they read the episodes (#20: a period of one's own within 2 s at 100,000 clients).

These tests run outside a test transaction (a second connection sees only committed
rows), on a clinic of their own.
"""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection, transaction

from rapport.insights import data, reports
from rapport.insights.scope import InsightScope
from rapport.insights.tests.conftest import make_synth_clinic

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("SQLite reads one query at a time: nothing runs alongside")


def _figures(computed: dict) -> dict:
    return {key: value for key, value in computed.items() if key != "seconds"}


def test_reading_alongside_gives_the_figures_of_reading_in_turn(postgresql, monkeypatch):
    organisation = make_synth_clinic("readboth", clients=120, seed=3).organisation
    scope = InsightScope(datetime.date(2025, 2, 1), datetime.date(2025, 11, 1))
    threads = []
    administrations = data.administrations

    def noting_the_thread(*args, **kwargs):
        threads.append(threading.current_thread())
        return administrations(*args, **kwargs)

    monkeypatch.setattr(data, "administrations", noting_the_thread)

    alongside = reports.compute(organisation, scope)
    with transaction.atomic():  # inside a transaction both reads run here, in turn
        in_turn = reports.compute(organisation, scope)

    assert threads[0] is not threading.current_thread()
    assert threads[1] is threading.current_thread()
    assert alongside["episodes"] > 0
    assert _figures(alongside) == _figures(in_turn)


def test_a_failing_read_alongside_fails_the_computation(postgresql):
    def failing() -> None:
        raise ConnectionError("the database went away")

    with pytest.raises(ConnectionError, match="went away"):
        data.read_both(failing, lambda: None)
    # The caller's connection is untouched and still usable.
    assert data.read_both(lambda: 1, lambda: 2) == (1, 2)
