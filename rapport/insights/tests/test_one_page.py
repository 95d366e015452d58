"""What the first visit of a filtered view waits for (#20: ≤ 2 s).

A period of one's own is computed when a reader first opens it. Staff wait for the page
they opened only; a researcher's view is computed whole, because it is released whole
(one computation behind all its pages); a view that holds the same episodes as the whole
clinic or a stored view is not computed at all. These tests check that a page computed
alone holds exactly the figures it holds among all four, on either database, and which
computations each reader's visits cause.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from rapport.clinic.models import Episode
from rapport.insights import reports, snapshots, views
from rapport.insights.models import ScopedRelease
from rapport.insights.scope import InsightScope
from rapport.security.access import Disclosure
from rapport.testing import login_verified

# February to November 2025: a period no page links to, so never a stored view.
OWN_PERIOD = {"from": "2025-02", "to": "2025-11"}


def _own_period() -> InsightScope:
    return InsightScope(datetime.date(2025, 2, 1), datetime.date(2025, 11, 1))


def _without_time(figures: dict) -> dict:
    return {key: value for key, value in figures.items() if key != "seconds"}


def test_the_pages_are_the_ones_the_site_lists():
    assert tuple(views.PAGES) == reports.PAGE_NAMES


@pytest.fixture(scope="module")
def all_four(module_synth_clinic, django_db_blocker) -> dict:
    """Every page of the period, computed together, once for the module."""
    with django_db_blocker.unblock():
        return reports.compute(module_synth_clinic.organisation, _own_period())


@pytest.mark.parametrize("page", reports.PAGE_NAMES)
def test_a_page_computed_alone_is_that_page_of_all_four(synth_clinic, all_four, page):
    alone = reports.compute(synth_clinic.organisation, _own_period(), pages=[page])

    assert list(alone["pages"]) == [page]
    assert alone["pages"][page] == all_four["pages"][page]
    assert (alone["clients"], alone["episodes"]) == (all_four["clients"], all_four["episodes"])
    assert alone["pages"][page]["tables"], "the period has figures to compare"


def test_two_pages_come_in_the_order_the_site_lists_them(synth_clinic, all_four):
    two = reports.compute(synth_clinic.organisation, _own_period(), pages=["equity", "outcomes"])

    assert list(two["pages"]) == ["outcomes", "equity"]
    assert _without_time(two)["pages"]["equity"] == all_four["pages"]["equity"]


@pytest.mark.parametrize("pages", [["equity", "readings"], []])
def test_an_unknown_or_empty_page_list_is_a_clear_error(synth_clinic, pages):
    with pytest.raises(ValueError, match="pages must name some of instruments"):
        reports.compute(synth_clinic.organisation, _own_period(), pages=pages)


@pytest.fixture
def computations(monkeypatch) -> list[tuple[str, ...]]:
    """The pages of each computation of a filtered view, in order."""
    compute = reports.compute
    seen: list[tuple[str, ...]] = []

    def recorded(organisation, scope, pages=reports.PAGE_NAMES):
        seen.append(tuple(pages))
        return compute(organisation, scope, pages)

    monkeypatch.setattr(reports, "compute", recorded)
    return seen


def _page(client, name: str, query: dict) -> str:
    response = client.get(reverse(f"insights-{name.replace('_', '-')}"), query)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_staff_wait_only_for_the_page_they_open(client, synth_clinic, computations, all_four):
    snapshots.refresh(synth_clinic.organisation)
    login_verified(client, synth_clinic.clinic_admin)

    equity = _page(client, "equity", OWN_PERIOD)
    assert computations == [("equity",)]
    assert f"{all_four['clients']} clients, {all_four['episodes']} episodes" in equity

    _page(client, "outcomes", OWN_PERIOD)
    assert computations == [("equity",), ("outcomes",)]

    # The next reader of either page, and its download, get the kept computation.
    login_verified(client, synth_clinic.supervisor)
    _page(client, "equity", OWN_PERIOD)
    download = client.get(reverse("insights-outcomes-csv"), {**OWN_PERIOD, "table": "endings"})
    assert download.status_code == 200
    assert computations == [("equity",), ("outcomes",)]


def test_a_researchers_view_is_computed_and_released_whole(client, synth_clinic, computations):
    snapshots.refresh(synth_clinic.organisation)
    login_verified(client, synth_clinic.researcher)
    # Two whole years: a period researchers may choose and no page links to.
    period = {"from": "2024-01", "to": "2025-12"}

    _page(client, "equity", period)

    assert computations == [reports.PAGE_NAMES]
    released = ScopedRelease.objects.get(organisation=synth_clinic.organisation)
    assert set(released.released["pages"]) == set(reports.PAGE_NAMES)  # JSON: no order
    # Another page of the same view comes from the same release: nothing computed.
    _page(client, "outcomes", period)
    assert computations == [reports.PAGE_NAMES]


def test_a_release_refuses_a_view_of_some_pages(synth_clinic):
    snapshots.refresh(synth_clinic.organisation)
    one_page = snapshots.for_scope(synth_clinic.organisation, _own_period(), pages=["equity"])

    with pytest.raises(ValueError, match="released whole"):
        snapshots.figures_for(
            one_page, synth_clinic.researcher, Disclosure.PROTECTED, _own_period()
        )
    assert not ScopedRelease.objects.exists()


# A period spanning every episode of the synthetic clinic (2023 to 2026), in whole years.
ALL_YEARS = {"from": "2000-01", "to": "2030-12"}


def _view_size(html: str) -> str:
    return html.split('class="view-size">', 1)[1].split("</span>", 1)[0].rstrip(".")


@pytest.mark.parametrize("reader", ["clinic_admin", "researcher"])
def test_a_period_spanning_the_whole_history_is_read_not_computed(
    client, synth_clinic, computations, reader
):
    clinic = snapshots.refresh(synth_clinic.organisation)
    login_verified(client, getattr(synth_clinic, reader))

    page = _page(client, "equity", ALL_YEARS)

    assert computations == []
    size = f"{clinic.data['clients']} clients, {clinic.data['episodes']} episodes"
    assert _view_size(page) == size
    assert _view_size(_page(client, "equity", {})) == size


def test_a_site_for_all_time_is_read_from_the_stored_site_view(
    client, synth_clinic, computations, monkeypatch
):
    site = synth_clinic.organisation.sites.order_by("name").first()
    site_view = InsightScope(site_id=site.pk)
    monkeypatch.setattr(snapshots, "standard_scopes", lambda organisation, today: [site_view])
    clinic, stored = snapshots.refresh_with_views(synth_clinic.organisation)
    assert stored == 1
    computations.clear()  # the worker's computation of the site view
    login_verified(client, synth_clinic.supervisor)

    page = _page(client, "outcomes", {**ALL_YEARS, "site": site.pk})

    assert computations == []
    view = clinic.views.get(scope_key=site_view.key)
    assert _view_size(page) == f"{view.data['clients']} clients, {view.data['episodes']} episodes"
    assert view.data["episodes"] < clinic.data["episodes"], "the site is part of the clinic"


def test_a_period_leaving_out_one_episode_is_computed(client, synth_clinic, computations):
    clinic = snapshots.refresh(synth_clinic.organisation)
    episodes = Episode.objects.filter(client__organisation=synth_clinic.organisation)
    earliest = episodes.order_by("started_on").first()
    # Every episode but the earliest is open in 2024 or later; the earliest ends before.
    others = episodes.exclude(pk=earliest.pk)
    others.filter(started_on__lt="2024-01-01").update(started_on="2024-01-01")
    others.filter(ended_on__lt="2024-01-01").update(ended_on="2024-01-31")
    episodes.filter(pk=earliest.pk).update(started_on="2023-01-01", ended_on="2023-12-31")
    login_verified(client, synth_clinic.clinic_admin)

    page = _page(client, "equity", {"from": "2024-01", "to": "2030-12"})

    assert computations == [("equity",)]
    assert f"{clinic.data['episodes'] - 1} episodes" in _view_size(page)
