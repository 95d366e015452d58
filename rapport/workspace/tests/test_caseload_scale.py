"""The caseload's query count does not grow with the caseload (6 x 5 and 60 x 40)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from rapport.clinic.models import ClientIdentity
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
    for therapist, size, sessions, prefix in ((small, 6, 5, "S"), (large, 60, 40, "L")):
        episodes = seed_caseload(
            therapist, instruments(), n_clients=size, n_sessions=sessions, prefix=prefix
        )
        # Names are decrypted for the whole page in one query, whatever its size.
        ClientIdentity.objects.bulk_create(
            ClientIdentity(client=e.client, given_name="Name", family_name=f"Of {prefix}{i}")
            for i, e in enumerate(episodes)
        )
    small_count, small_page = caseload_queries(client, small)
    large_count, large_page = caseload_queries(client, large)
    assert large_count == small_count
    assert large_page.count('<tr class="urgency-') == 60
    assert small_page.count('<tr class="urgency-') == 6
    assert "Name Of L59" in large_page and "Name Of S5" in small_page
    # Every kind of story shows its flag, safety first.
    for label in ("Safety:", "Alliance rupture:", "Trust:", "Engagement:"):
        assert label in large_page
    assert large_page.index("Safety:") < large_page.index("Alliance rupture:")
