"""Filtered views computed before anyone opens them (#20: a shared view opens at once).

The worker's refresh stores, beside the clinic's snapshot, the filtered views the pages
link to over the whole clinic; opening one reads it instead of computing it. These tests
check which views those are, that a stored view holds the same figures a computation of
its filter gives, that the pages, downloads and researchers' releases read it, and that
no view outlives the snapshot it was computed beside.
"""

from __future__ import annotations

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils.module_loading import import_string
from django_q.brokers import get_broker  # type: ignore[import-untyped]  # django-q2 ships no types
from django_q.signing import SignedPackage  # type: ignore[import-untyped]

from rapport.clinic.models import Site
from rapport.insights import reports, snapshots
from rapport.insights.models import InsightSnapshot, PrecomputedView
from rapport.insights.scope import InsightScope
from rapport.operations.jobs import queue_insight_views, refresh_insights
from rapport.testing import login_verified

OUTCOMES = reverse("insights-outcomes")
AUGUST_15 = datetime.date(2026, 8, 15)


def _months(first: str, last: str) -> tuple[datetime.date, datetime.date]:
    return (
        datetime.date.fromisoformat(first + "-01"),
        datetime.date.fromisoformat(last + "-01"),
    )


def _sites(clinic) -> list[int]:
    return list(
        Site.objects.filter(organisation=clinic.organisation)
        .order_by("name")
        .values_list("pk", flat=True)
    )


def test_the_standard_views_are_the_pages_quick_periods_and_sites(synth_clinic):
    sites = _sites(synth_clinic)
    assert len(sites) == 2, "the synthetic clinic has two sites"
    # On 15 August 2026 the pages offer staff this quarter, last quarter and the last 12
    # months, and researchers the last three calendar years.
    periods = [
        _months("2026-07", "2026-09"),
        _months("2026-04", "2026-06"),
        _months("2025-09", "2026-08"),
        _months("2026-01", "2026-12"),
        _months("2025-01", "2025-12"),
        _months("2024-01", "2024-12"),
    ]
    expected = {InsightScope(site_id=site) for site in sites}
    expected |= {InsightScope(first, last) for first, last in periods}
    expected |= {
        InsightScope(first, last, site_id=site) for first, last in periods for site in sites
    }

    scopes = snapshots.standard_scopes(synth_clinic.organisation, AUGUST_15)

    assert len(scopes) == len(set(scopes)) == len(expected) == 20
    assert set(scopes) == expected


@pytest.fixture
def two_views(synth_clinic, monkeypatch):
    """The standard views cut to two (one site; a year at that site): each view costs a
    full computation, and which views are standard is tested above."""
    site = _sites(synth_clinic)[0]
    views = [
        InsightScope(site_id=site),
        InsightScope(*_months("2025-01", "2025-12"), site_id=site),
    ]
    monkeypatch.setattr(snapshots, "standard_scopes", lambda organisation, today: views)
    return views


def _figures(data: dict) -> dict:
    return {key: value for key, value in data.items() if key != "seconds"}


def test_a_stored_view_holds_the_figures_of_its_filter(synth_clinic, two_views):
    snapshot, stored = snapshots.refresh_with_views(synth_clinic.organisation)

    assert stored == 2
    for scope in two_views:
        view = PrecomputedView.objects.get(snapshot=snapshot, scope_key=scope.key)
        assert view.data == _figures(reports.compute(synth_clinic.organisation, scope))


def test_opening_a_stored_view_computes_nothing(client, synth_clinic, two_views, monkeypatch):
    snapshot, _ = snapshots.refresh_with_views(synth_clinic.organisation)
    site_view, year_at_site = two_views

    def no_computation(*args, **kwargs):
        raise AssertionError("a stored view was computed again")

    monkeypatch.setattr(reports, "compute", no_computation)
    login_verified(client, synth_clinic.clinic_admin)
    response = client.get(OUTCOMES, {"site": site_view.site_id})
    assert response.status_code == 200
    stored = PrecomputedView.objects.get(snapshot=snapshot, scope_key=site_view.key)
    figures = f"{stored.data['clients']} clients, {stored.data['episodes']} episodes"
    assert figures in response.text

    csv = client.get(reverse("insights-outcomes-csv"), {"site": site_view.site_id})
    assert csv.status_code == 200

    # A researcher's whole-year view at a site comes from the stored view too, under
    # its own release.
    login_verified(client, synth_clinic.researcher)
    query = {"from": "2025-01", "to": "2025-12", "site": year_at_site.site_id}
    response = client.get(OUTCOMES, query)
    assert response.status_code == 200, response.text[:500]


def test_a_filter_without_a_stored_view_is_computed_as_before(client, synth_clinic, two_views):
    snapshots.refresh_with_views(synth_clinic.organisation)
    other_year = InsightScope(*_months("2024-01", "2024-12"))
    login_verified(client, synth_clinic.clinic_admin)

    response = client.get(OUTCOMES, {"from": "2024-01", "to": "2024-12"})

    assert response.status_code == 200
    computed = reports.compute(synth_clinic.organisation, other_year)
    assert f"{computed['clients']} clients, {computed['episodes']} episodes" in response.text


def test_a_new_snapshot_takes_its_views_with_it(synth_clinic, two_views):
    first, _ = snapshots.refresh_with_views(synth_clinic.organisation)

    second = snapshots.refresh(synth_clinic.organisation)  # "Refresh now": the clinic only

    assert not InsightSnapshot.objects.filter(pk=first.pk).exists()
    assert not PrecomputedView.objects.exists()
    # Until the worker computes the new snapshot's views, a filtered view is computed
    # from the current records, never read from an older snapshot's.
    view = snapshots.for_scope(synth_clinic.organisation, two_views[0])
    assert view.pk is None and view.computed_at >= second.computed_at


def test_views_stop_when_their_snapshot_is_replaced_meanwhile(synth_clinic, two_views, monkeypatch):
    snapshot = snapshots.refresh(synth_clinic.organisation)
    compute = reports.compute

    def replaced_after_the_first(organisation, scope):
        computed = compute(organisation, scope)
        if scope == two_views[1]:
            snapshots.refresh(organisation)
        return computed

    monkeypatch.setattr(reports, "compute", replaced_after_the_first)

    assert snapshots.precompute_views(snapshot) == 1
    assert not PrecomputedView.objects.exists()  # deleted with the replaced snapshot


def test_the_worker_job_and_the_command_store_the_views(synth_clinic, two_views, capsys):
    assert "2 filtered views precomputed" in refresh_insights()
    snapshot = InsightSnapshot.objects.get(organisation=synth_clinic.organisation)
    assert snapshot.views.count() == 2

    call_command("insights", "refresh", org=synth_clinic.organisation.slug)

    assert "2 filtered views precomputed" in capsys.readouterr().out
    assert PrecomputedView.objects.count() == 2


def _run_queued_jobs() -> list[str]:
    """Run the queued one-off jobs here, as a worker would (django-q2's worker loop is
    tested in rapport/operations; it needs a database it can reconnect to)."""
    outcomes = []
    broker = get_broker()
    while tasks := broker.dequeue():
        for task_id, payload in tasks:
            task = SignedPackage.loads(payload)
            outcomes.append(import_string(task["func"])(*task["args"]))
            broker.acknowledge(task_id)
    return outcomes


def test_refresh_now_has_the_worker_store_the_views(
    client, synth_clinic, two_views, django_capture_on_commit_callbacks
):
    login_verified(client, synth_clinic.clinic_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("insights-refresh"))
    assert response.status_code == 302
    snapshot = InsightSnapshot.objects.get(organisation=synth_clinic.organisation)
    assert not snapshot.views.exists(), "the button computes the clinic only"

    assert _run_queued_jobs() == ["2 filtered views precomputed"]

    assert {view.scope_key for view in snapshot.views.all()} == {s.key for s in two_views}


def test_queued_views_of_a_replaced_snapshot_are_skipped(
    synth_clinic, two_views, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        queue_insight_views(snapshots.refresh(synth_clinic.organisation))
    snapshots.refresh(synth_clinic.organisation)  # replaced before the worker gets to it

    assert _run_queued_jobs() == ["skipped: the snapshot has been replaced"]

    assert not PrecomputedView.objects.exists()
