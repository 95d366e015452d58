"""The insight pages and downloads for each role, on a synthetic clinic."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse
from django.utils.html import escape

from rapport.clinic.models import Client
from rapport.insights.views import PAGES
from rapport.security.models import AuditEvent
from rapport.testing import login_verified

PAGE_URLS = [f"insights-{page.replace('_', '-')}" for page in PAGES]


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["supervisor", "clinic_admin", "researcher"])
def test_every_page_renders_for_roles_that_see_aggregates(client, synth_clinic, role):
    login_verified(client, getattr(synth_clinic, role))
    index = client.get(reverse("insights"))
    assert index.status_code == 200
    assert "Clinic insights" in index.text
    for name in PAGE_URLS:
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        assert "In plain words" in response.text
        assert "95% CI" in response.text
    assert "hang together" in client.get(reverse("insights-instruments")).text


@pytest.mark.django_db
def test_the_navigation_links_insights_only_for_roles_that_may_see_them(synth_clinic):
    from django.template.loader import render_to_string

    def navigation(user) -> str:
        return render_to_string("rapport/base.html", {"user": user})

    assert reverse("insights") in navigation(synth_clinic.supervisor)
    assert reverse("insights") in navigation(synth_clinic.researcher)
    assert reverse("insights") not in navigation(synth_clinic.therapist)


@pytest.mark.django_db
def test_therapists_get_403_on_every_insight_url(client, synth_clinic):
    login_verified(client, synth_clinic.therapist)
    for name in ["insights", *PAGE_URLS, *[f"{n}-csv" for n in PAGE_URLS]]:
        assert client.get(reverse(name)).status_code == 403, name


@pytest.mark.django_db
def test_researcher_never_sees_a_record_number(client, synth_clinic):
    login_verified(client, synth_clinic.researcher)
    pages = [client.get(reverse(name)).text for name in ["insights", *PAGE_URLS]]
    downloads = []
    for name in PAGE_URLS:
        html = client.get(reverse(name)).text
        for table_name in _table_names(html):
            downloads.append(client.get(reverse(f"{name}-csv"), {"table": table_name}).text)
    everything = "\n".join(pages + downloads)
    record_numbers = Client.objects.filter(organisation=synth_clinic.organisation).values_list(
        "record_number", flat=True
    )
    assert record_numbers
    for record_number in record_numbers:
        assert record_number not in everything


@pytest.mark.django_db
def test_researcher_sees_therapist_pseudonyms_and_supervisor_sees_names(client, synth_clinic):
    from rapport.insights import reports

    reports.MIN_THERAPIST_EPISODES, saved = 5, reports.MIN_THERAPIST_EPISODES
    try:
        login_verified(client, synth_clinic.researcher)
        as_researcher = client.get(reverse("insights-outcomes")).text
        client.logout()
        login_verified(client, synth_clinic.supervisor)
        from rapport.insights.snapshots import refresh

        refresh(synth_clinic.organisation)
        as_supervisor = client.get(reverse("insights-outcomes")).text
    finally:
        reports.MIN_THERAPIST_EPISODES = saved
    therapists = synth_clinic.organisation.staff.filter(role="therapist")
    names = [escape(str(t)) for t in therapists]
    assert not any(f"<td>{name}</td>" in as_researcher for name in names)
    assert "Therapist " in as_researcher
    assert any(f"<td>{name}</td>" in as_supervisor for name in names)


def _table_names(html: str) -> list[str]:
    marker = "?table="
    names = []
    for part in html.split(marker)[1:]:
        names.append(part.split('"', 1)[0])
    return names


@pytest.mark.django_db
def test_csv_download_is_the_suppressed_table_and_is_audited(client, synth_clinic):
    login_verified(client, synth_clinic.supervisor)
    response = client.get(reverse("insights-instruments-csv"), {"table": "reliability"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["Instrument", "n", "Items"]
    assert rows[0][-1] == "suppressed"
    assert len(rows) == 1 + 5  # one row per instrument of the default plan
    assert AuditEvent.objects.filter(action="insights.export").count() == 1
    assert client.get(reverse("insights-instruments-csv"), {"table": "nope"}).status_code == 400


@pytest.mark.django_db
def test_each_page_view_is_audited(client, synth_clinic):
    login_verified(client, synth_clinic.clinic_admin)
    for name in PAGE_URLS:
        client.get(reverse(name))
    events = AuditEvent.objects.filter(action="insights.view")
    assert events.count() == len(PAGE_URLS)
    assert set(events.values_list("object_id", flat=True)) == {
        str(synth_clinic.organisation.public_id)
    }


@pytest.mark.django_db
def test_refresh_recomputes_and_redirects(client, synth_clinic):
    from rapport.insights.models import InsightSnapshot

    login_verified(client, synth_clinic.supervisor)
    client.get(reverse("insights"))
    first = InsightSnapshot.objects.get(organisation=synth_clinic.organisation)
    response = client.post(reverse("insights-refresh"))
    assert response.status_code == 302
    latest = InsightSnapshot.objects.get(organisation=synth_clinic.organisation)
    assert latest.pk != first.pk
