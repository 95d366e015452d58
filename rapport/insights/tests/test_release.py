"""Differencing: refreshing the insights around one client's first check-in must not let a
researcher work out that client's answers from n and the mean (#15.7)."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from rapport.core.instruments import instruments
from rapport.insights.snapshots import refresh
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.testing import add_answers, add_session, login_verified, make_episode

TABLE = "items_phq9"


def item_rows(client, user, query=None) -> dict[str, tuple[int, float]]:
    """The phq9 item table as ``user`` downloads it (filtered by ``query``): item -> (n, mean)."""
    login_verified(client, user)
    response = client.get(reverse("insights-instruments-csv"), {"table": TABLE, **(query or {})})
    assert response.status_code == 200, response.text
    rows = list(csv.DictReader(io.StringIO(response.text)))
    return {row["Item"]: (int(row["n"]), float(row["Mean"])) for row in rows if row["n"]}


def first_checkin_of_a_new_client(therapist, answer: int) -> None:
    phq9 = instruments()["phq9"]
    session = add_session(make_episode(therapist), 1)
    add_answers(session, phq9, dict.fromkeys(phq9.item_ids, answer))


@pytest.mark.django_db
def test_one_clients_first_checkin_cannot_be_differenced_out_of_the_researchers_figures(client):
    clinic = make_synth_clinic(slug="difference", clients=60)
    refresh(clinic.organisation)
    researcher_before = item_rows(client, clinic.researcher)
    staff_before = item_rows(client, clinic.supervisor)
    assert researcher_before  # the table is published at all

    first_checkin_of_a_new_client(clinic.therapist, answer=3)
    refresh(clinic.organisation)

    researcher_after = item_rows(client, clinic.researcher)
    for item, (n_after, mean_after) in researcher_after.items():
        n_before, mean_before = researcher_before[item]
        if n_after - n_before < 11:
            # Had the figures moved, n*mean after minus n*mean before would be the
            # new client's answer to this item.
            assert (n_after, mean_after) == (n_before, mean_before), item
    # Staff who may see the clinic's records see the figures at once.
    staff_after = item_rows(client, clinic.supervisor)
    assert all(staff_after[item][0] == n + 1 for item, (n, _) in staff_before.items())

    for _ in range(10):
        first_checkin_of_a_new_client(clinic.therapist, answer=1)
    refresh(clinic.organisation)
    released = item_rows(client, clinic.researcher)
    assert all(released[item][0] == n + 11 for item, (n, _) in researcher_before.items())


@pytest.mark.django_db
def test_a_filtered_view_is_released_to_researchers_under_the_same_rule(client):
    clinic = make_synth_clinic(slug="difference-filtered", clients=60)
    this_year = {"from": "2026-01", "to": "2026-12"}  # the new client's episode starts now
    researcher_before = item_rows(client, clinic.researcher, this_year)
    staff_before = item_rows(client, clinic.supervisor, this_year)
    assert researcher_before

    first_checkin_of_a_new_client(clinic.therapist, answer=3)
    refresh(clinic.organisation)

    assert item_rows(client, clinic.researcher, this_year) == researcher_before
    staff_after = item_rows(client, clinic.supervisor, this_year)
    assert all(staff_after[item][0] == n + 1 for item, (n, _) in staff_before.items())


def _stored(rows):
    return {
        "name": "t",
        "columns": [
            {"key": "group", "label": "Group", "kind": "text"},
            {"key": "n", "label": "n", "kind": "int"},
            {"key": "mean", "label": "Mean", "kind": "num"},
        ],
        "rows": rows,
    }


@pytest.mark.parametrize(
    ("after", "replaced"),
    [
        ([{"group": "A", "n": 40, "mean": 2.0}], True),  # unchanged
        ([{"group": "A", "n": 41, "mean": 2.1}], False),  # one more person
        ([{"group": "A", "n": 40, "mean": 2.1}], False),  # someone's answer changed
        ([{"group": "A", "n": 51, "mean": 2.1}], True),  # eleven more
        ([{"group": "A", "n": 40, "mean": 2.0}, {"group": "B", "n": 12, "mean": 1.0}], True),
    ],
)
def test_a_table_is_replaced_only_when_its_changed_groups_moved_enough(after, replaced):
    from rapport.insights.release import table_may_replace

    before = _stored([{"group": "A", "n": 40, "mean": 2.0}])
    assert table_may_replace(before, _stored(after), threshold=11) is replaced
