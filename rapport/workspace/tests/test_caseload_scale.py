"""The caseload's query count does not grow with the caseload (6 x 5 and 60 x 40)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.core.instruments import instruments
from rapport.testing import login_verified, make_organisation, make_user
from rapport.workspace.sample import seed_caseload

pytestmark = pytest.mark.django_db


def caseload_queries(client, therapist) -> tuple[int, str]:
    login_verified(client, therapist)
    client.get(reverse("home"))  # warm the session, user and registry caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("home"))
    assert response.status_code == 200
    return len(captured), response.content.decode()


def test_sixty_clients_with_forty_sessions_cost_the_same_queries_as_six_with_five(client):
    organisation = make_organisation()
    small, large = make_user(organisation), make_user(organisation)
    seed_caseload(small, instruments(), n_clients=6, n_sessions=5, prefix="S")
    seed_caseload(large, instruments(), n_clients=60, n_sessions=40, prefix="L")
    small_count, small_page = caseload_queries(client, small)
    large_count, large_page = caseload_queries(client, large)
    assert large_count == small_count
    assert large_page.count('<tr class="urgency-') == 60
    assert small_page.count('<tr class="urgency-') == 6
    # Every kind of story shows its flag, safety first.
    for label in ("Safety:", "Alliance rupture:", "Trust:", "Engagement:"):
        assert label in large_page
    assert large_page.index("Safety:") < large_page.index("Alliance rupture:")
