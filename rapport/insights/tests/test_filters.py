"""The insight pages' filter: period, site, team and therapist, in the URL, within scope.

The synthetic clinic has two supervisors (each over half of the therapists), two sites
and three years of episodes, so every filter narrows the figures to a real subset.
Expected sizes are counted here from the records, one episode at a time, not with the
scope's own query.
"""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse

from rapport.accounts.models import Role, User
from rapport.clinic.models import Client, Episode, Site
from rapport.insights import reports
from rapport.insights.disclosure import protected
from rapport.insights.scope import InsightScope
from rapport.insights.tables import csv_rows
from rapport.security.access import Disclosure, InsightChannel, insight_disclosure
from rapport.security.models import AuditEvent
from rapport.testing import login_verified

OUTCOMES = reverse("insights-outcomes")
EXACT_TEXT = "they are shown exactly"


def _view_size(html: str) -> tuple[int, int]:
    """(clients, episodes) as the page states them."""
    match = re.search(r'class="view-size">(\d+) clients, (\d+) episodes', html)
    assert match is not None, "the page does not say how many clients it covers"
    return int(match[1]), int(match[2])


def _size(episodes) -> tuple[int, int]:
    episodes = list(episodes)
    return len({e.client_id for e in episodes}), len(episodes)


def _open_in(episode: Episode, first: datetime.date, last_day: datetime.date) -> bool:
    return episode.started_on <= last_day and (
        episode.ended_on is None or episode.ended_on >= first
    )


@pytest.fixture
def clinic(synth_clinic):
    supervisors = list(
        User.objects.filter(organisation=synth_clinic.organisation, role=Role.SUPERVISOR)
    )
    assert len(supervisors) == 2, "the filter tests need a clinic with two teams"
    synth_clinic.other_supervisor = next(s for s in supervisors if s != synth_clinic.supervisor)
    return synth_clinic


@pytest.mark.django_db
def test_a_supervisor_sees_their_own_team_exactly(client, clinic):
    supervisor = clinic.supervisor
    login_verified(client, supervisor)
    # The whole clinic includes the other team's clients: protected figures.
    assert EXACT_TEXT not in client.get(OUTCOMES).text

    response = client.get(OUTCOMES, {"team": str(supervisor.public_id)})

    assert response.status_code == 200
    assert EXACT_TEXT in response.text
    assert "Team of" in response.text
    episodes = Episode.objects.filter(client__organisation=clinic.organisation)
    episodes = episodes.select_related("therapist")
    team = [e for e in episodes if e.therapist.supervisor_id == supervisor.pk]
    assert _view_size(response.text) == _size(team)
    event = AuditEvent.objects.filter(action="insights.view").latest("seq")
    assert event.detail["scope"] == [f"team={supervisor.pk}"]


@pytest.mark.django_db
def test_a_period_and_a_site_narrow_the_figures_to_the_episodes_open_then_there(client, clinic):
    login_verified(client, clinic.clinic_admin)
    site = Site.objects.filter(organisation=clinic.organisation).order_by("name").first()
    episodes = Episode.objects.filter(client__organisation=clinic.organisation).select_related(
        "client"
    )
    first, last_day = datetime.date(2025, 10, 1), datetime.date(2025, 12, 31)
    expected = [e for e in episodes if _open_in(e, first, last_day) and e.client.site_id == site.pk]
    assert 11 <= len(expected) < len(episodes)

    response = client.get(OUTCOMES, {"from": "2025-10", "to": "2025-12", "site": site.pk})

    assert response.status_code == 200
    assert _view_size(response.text) == _size(expected)
    assert "October 2025 to December 2025" in response.text
    assert f"Site: {site.name}" in response.text
    # The other pages' links keep the filter, so it can be shared page to page.
    assert f"{reverse('insights-equity')}?from=2025-10&amp;to=2025-12&amp;site={site.pk}" in (
        response.text
    )


@pytest.mark.django_db
def test_a_therapist_filter_covers_that_therapists_episodes(client, clinic):
    therapist = User.objects.filter(supervisor=clinic.supervisor).order_by("pk").first()
    login_verified(client, clinic.supervisor)

    response = client.get(OUTCOMES, {"therapist": str(therapist.public_id)})

    assert response.status_code == 200
    assert EXACT_TEXT in response.text
    assert _view_size(response.text) == _size(Episode.objects.filter(therapist=therapist))


@pytest.mark.django_db
def test_the_drop_downs_keep_the_choice_and_escape_names(client, clinic):
    therapist = User.objects.filter(supervisor=clinic.supervisor).order_by("pk").first()
    therapist.first_name, therapist.last_name = "<b>Lee", "O'Neil & Co</b>"
    therapist.save(update_fields=["first_name", "last_name"])
    login_verified(client, clinic.supervisor)

    html = client.get(OUTCOMES, {"therapist": str(therapist.public_id)}).text

    drop_down = re.search(r'<select[^>]* id="id_therapist"[^>]*>(.*?)</select>', html, re.S)
    assert drop_down is not None and 'name="therapist"' in drop_down[0]
    chosen = re.findall(r'<option value="([^"]*)" selected>([^<]*)</option>', drop_down[1])
    assert chosen == [(str(therapist.public_id), "&lt;b&gt;Lee O&#x27;Neil &amp; Co&lt;/b&gt;")]
    assert "<b>Lee" not in html
    # A choice the reader is not offered is marked on its drop-down for screen readers.
    outside = client.get(OUTCOMES, {"therapist": str(clinic.other_supervisor.public_id)}).text
    assert re.search(r'<select[^>]*aria-invalid="true"[^>]*id="id_therapist"', outside)


@pytest.mark.django_db
def test_therapists_of_the_same_name_are_told_apart(client, clinic):
    first, second = User.objects.filter(supervisor=clinic.supervisor).order_by("pk")[:2]
    for therapist in (first, second):
        therapist.first_name, therapist.last_name = "Alex", "Garcia"
        therapist.save(update_fields=["first_name", "last_name"])
    login_verified(client, clinic.supervisor)

    html = client.get(OUTCOMES).text

    for therapist in (first, second):
        option = f'<option value="{therapist.public_id}">Alex Garcia ({therapist.username})<'
        assert option in html


@pytest.mark.django_db
def test_a_filter_outside_the_readers_options_is_an_error_never_a_wider_view(client, clinic):
    someone_elses = User.objects.filter(supervisor=clinic.other_supervisor).first()
    login_verified(client, clinic.supervisor)
    for query in (
        {"therapist": str(someone_elses.public_id)},
        {"team": str(clinic.other_supervisor.public_id)},
        {"from": "2026-13", "to": "2026-12"},
        {"from": "2026-05", "to": "2026-02"},
        {"from": "2026-05"},
    ):
        response = client.get(OUTCOMES, query)
        assert response.status_code == 400, query
        assert "The filter could not be applied, so no figures are shown" in response.text
        assert "In plain words" not in response.text, query
    assert "Enter a month as year and month" in client.get(OUTCOMES, {"from": "x", "to": "x"}).text
    # A malformed month is one error, not also "give both months".
    malformed = client.get(OUTCOMES, {"from": "2026-13", "to": "2026-12"}).text
    assert "Enter a month as year and month" in malformed
    assert "Give both the first and the last month" not in malformed

    # A researcher opening a supervisor's team link is told, not shown the whole clinic.
    client.logout()
    login_verified(client, clinic.researcher)
    response = client.get(OUTCOMES, {"team": str(clinic.supervisor.public_id)})
    assert response.status_code == 400
    assert "this filter is not available to you" in response.text


@pytest.mark.django_db
def test_researchers_may_filter_by_whole_years_and_site_only(client, clinic):
    login_verified(client, clinic.researcher)
    response = client.get(OUTCOMES, {"from": "2025-01", "to": "2025-12"})
    assert response.status_code == 200
    page = response.text
    assert 'name="from"' in page and 'name="site"' in page
    assert 'name="team"' not in page and 'name="therapist"' not in page
    assert EXACT_TEXT not in page
    # Whole years only: fewer, wider views leave less to difference.
    half = client.get(OUTCOMES, {"from": "2025-01", "to": "2025-06"})
    assert half.status_code == 400
    assert "whole calendar years" in half.text


@pytest.mark.django_db
def test_a_researcher_cannot_open_a_view_a_few_clients_short_of_a_wider_one(client, clinic):
    organisation = clinic.organisation
    main, east = Site.objects.filter(organisation=organisation).order_by("name")
    Client.objects.filter(organisation=organisation).update(site=main)
    three = Client.objects.filter(organisation=organisation).order_by("pk")[:3]
    Client.objects.filter(pk__in=[c.pk for c in three]).update(site=east)
    login_verified(client, clinic.researcher)

    # "Main clinic" is the whole clinic but three clients: the two views' difference
    # would be those three people's figures.
    response = client.get(OUTCOMES, {"site": main.pk})
    assert response.status_code == 400
    assert "leaves out only a few clients of a wider view" in response.text
    assert "In plain words" not in response.text
    # Three clients on their own are far from the whole clinic: shown, protected.
    assert client.get(OUTCOMES, {"site": east.pk}).status_code == 200
    # Staff who see every computation anyway are not refused.
    client.logout()
    login_verified(client, clinic.clinic_admin)
    assert client.get(OUTCOMES, {"site": main.pk}).status_code == 200


@pytest.mark.django_db
def test_a_download_keeps_the_filter_and_is_protected(client, clinic):
    login_verified(client, clinic.supervisor)
    query = {"team": str(clinic.supervisor.public_id)}
    page = client.get(OUTCOMES, query).text
    assert f"&amp;team={clinic.supervisor.public_id}" in page

    response = client.get(reverse("insights-outcomes-csv"), {**query, "table": "endings"})

    assert response.status_code == 200
    assert "filtered" in response["Content-Disposition"]
    team = frozenset(User.objects.filter(supervisor=clinic.supervisor).values_list("pk", flat=True))
    expected = protected(reports.compute(clinic.organisation, InsightScope(therapist_ids=team)))
    stored = next(t for t in expected["pages"]["outcomes"]["tables"] if t["name"] == "endings")
    expected_csv = io.StringIO()
    csv.writer(expected_csv).writerows(csv_rows(stored))
    assert response.content.decode() == expected_csv.getvalue()
    whole = client.get(reverse("insights-outcomes-csv"), {"table": "endings"})
    assert whole.content != response.content


@pytest.mark.django_db
def test_the_disclosure_rule_follows_the_scope(clinic):
    supervisor = clinic.supervisor
    own = frozenset(User.objects.filter(supervisor=supervisor).values_list("pk", flat=True))
    other = frozenset(
        User.objects.filter(supervisor=clinic.other_supervisor).values_list("pk", flat=True)
    )
    page, download = InsightChannel.PAGE, InsightChannel.DOWNLOAD
    assert insight_disclosure(supervisor, page) is Disclosure.PROTECTED
    assert insight_disclosure(supervisor, page, InsightScope(therapist_ids=own)) is Disclosure.EXACT
    mixed = InsightScope(therapist_ids=own | {min(other)})
    assert insight_disclosure(supervisor, page, mixed) is Disclosure.PROTECTED
    own_scope = InsightScope(therapist_ids=own)
    assert insight_disclosure(supervisor, download, own_scope) is Disclosure.PROTECTED
    for reader in (clinic.clinic_admin, clinic.researcher):
        assert insight_disclosure(reader, page, own_scope) is Disclosure.PROTECTED


def test_a_scope_refuses_a_half_period_or_an_empty_team():
    with pytest.raises(ValueError, match="both"):
        InsightScope(first_month=datetime.date(2026, 1, 1))
    with pytest.raises(ValueError, match="cannot end before"):
        InsightScope(datetime.date(2026, 3, 1), datetime.date(2026, 1, 1))
    with pytest.raises(ValueError, match="first days"):
        InsightScope(datetime.date(2026, 1, 2), datetime.date(2026, 3, 1))
    with pytest.raises(ValueError, match="no therapists"):
        InsightScope(therapist_ids=frozenset())


def test_the_wider_views_of_a_scope_drop_each_combination_of_its_conditions():
    first, last = datetime.date(2025, 1, 1), datetime.date(2025, 12, 1)
    scope = InsightScope(first, last, site_id=3)
    assert set(scope.coarser()) == {
        InsightScope(site_id=3),
        InsightScope(first, last),
        InsightScope(),
    }
    assert InsightScope().coarser() == []
