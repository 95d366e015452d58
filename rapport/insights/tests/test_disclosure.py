"""Disclosure that fits the audience (#20.3): exact figures, marked when they rest on 1 to
10 people, for staff who may open every record behind them; small-cell protection for
researchers, clinic admins, a supervisor of part of the clinic, and every download."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from rapport.accounts.models import Role
from rapport.insights import reports
from rapport.insights.tables import Column, csv_rows, display_rows, protect, protected_table, table
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.insights.tests.test_suppression import (
    SMALL_GROUP_TRUST,
    _all_downloads,
    _clinic_with_a_small_group,
)
from rapport.security.access import Disclosure, InsightChannel, insight_disclosure
from rapport.testing import login_verified, make_organisation, make_user

MARK = "small numbers — interpret with care"
PAGES = ("instruments", "trust-alliance", "outcomes", "equity")


def _row_of(html: str, group: str) -> str:
    """The table row (``<tr>...</tr>``) of the equity trust table naming ``group``."""
    section = html.split('id="table-equity_0"', 1)[1].split("</section>", 1)[0]
    cell = f"<td>{group}</td><td>"  # the group's own cell, then its membership
    return next(row for row in re.findall(r"<tr.*?</tr>", section, re.S) if cell in row)


def _readings(html: str) -> str:
    return html.split("In plain words", 1)[1].split("</ul>", 1)[0]


def _section(html: str, table: str) -> str:
    return html.split(f'id="table-{table}"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
def small_group_clinic(db):
    """34 clients of one therapist, 4 of them Asian with trust 2.718; a supervisor of the
    whole clinic, a supervisor of nobody, a clinic admin and a researcher."""
    organisation = make_organisation()
    supervisor = make_user(organisation, Role.SUPERVISOR)
    therapist = make_user(organisation, Role.THERAPIST, supervisor=supervisor)
    _clinic_with_a_small_group(organisation, therapist)
    return {
        "supervisor": supervisor,
        "other_supervisor": make_user(organisation, Role.SUPERVISOR),
        "clinic_admin": make_user(organisation, Role.CLINIC_ADMIN),
        "researcher": make_user(organisation, Role.RESEARCHER),
        "therapist": therapist,
    }


@pytest.mark.django_db
def test_the_one_rule_per_role_and_channel(small_group_clinic):
    staff = small_group_clinic
    page, download = InsightChannel.PAGE, InsightChannel.DOWNLOAD
    assert insight_disclosure(staff["supervisor"], page) is Disclosure.EXACT
    assert insight_disclosure(staff["supervisor"], download) is Disclosure.PROTECTED
    for role in ("other_supervisor", "clinic_admin", "researcher", "therapist"):
        for channel in (page, download):
            assert insight_disclosure(staff[role], channel) is Disclosure.PROTECTED, role


@pytest.mark.django_db
def test_a_supervisor_of_part_of_the_clinic_gets_protected_figures(small_group_clinic):
    staff = small_group_clinic
    organisation = staff["supervisor"].organisation
    # One more therapist, supervised by someone else, with one client: the clinic-wide
    # figures now include a client the first supervisor may not open.
    from rapport.testing import make_episode

    outsider = make_user(organisation, Role.THERAPIST, supervisor=staff["other_supervisor"])
    make_episode(outsider, sessions=1)
    assert insight_disclosure(staff["supervisor"], InsightChannel.PAGE) is Disclosure.PROTECTED


@pytest.mark.django_db
def test_a_small_groups_figures_are_exact_and_marked_for_the_supervisor_only(
    client, small_group_clinic
):
    staff = small_group_clinic
    exact_mean = f"{SMALL_GROUP_TRUST:.3f}"  # the equity table's estimate, to 3 decimals

    login_verified(client, staff["supervisor"])
    page = client.get(reverse("insights-equity")).text
    asian = _row_of(page, "Asian")
    assert exact_mean in asian and MARK in asian
    assert "suppressed" not in asian
    assert MARK not in _row_of(page, "White")  # 30 people: exact and unmarked
    assert "resting on 1 to 10 people" in page  # the page says what the marking means
    difference = next(r for r in _readings(page).split("<li>") if "Asian differs" in r)
    assert "Small numbers: interpret with care" in difference
    # The supervisor's own downloads are protected, like everyone's.
    for name in PAGES:
        downloads = _all_downloads(client, name)
        assert exact_mean not in downloads and "2.72" not in downloads, name
    client.logout()

    for role in ("researcher", "clinic_admin", "other_supervisor"):
        login_verified(client, staff[role])
        page = client.get(reverse("insights-equity")).text
        asian = _row_of(page, "Asian")
        assert exact_mean not in page and MARK not in page, role
        assert "suppressed" in asian, role
        assert "Asian differs" not in _readings(page), role
        downloads = _all_downloads(client, "equity")
        assert exact_mean not in downloads and "2.72" not in downloads, role
        client.logout()

    login_verified(client, staff["therapist"])
    assert client.get(reverse("insights-equity")).status_code == 403
    assert client.get(reverse("insights-equity-csv")).status_code == 403
    client.logout()
    # Another clinic's supervisor of everything there sees nothing of this clinic.
    elsewhere = make_organisation()
    outsider = make_user(elsewhere, Role.SUPERVISOR)
    login_verified(client, outsider)
    assert exact_mean not in client.get(reverse("insights-equity")).text


def test_the_marking_is_translated_and_is_text_not_colour():
    stored = table(
        "t",
        "T",
        [Column("group", "Group"), reports.N, Column("mean", "Mean", "num")],
        [protect({"group": "Small", "n": 4, "mean": 2.0}, ["n", "mean"], "primary")],
    )
    context = {"table": {**stored, "display": display_rows(stored)}, "csv_url_name": "insights"}
    with translation.override("es"):
        html = render_to_string("insights/_table.html", context)
    assert "cifras pequeñas — interpretar con cuidado" in html
    assert "2.00" in html


def test_a_download_cannot_be_written_from_exact_figures():
    stored = table(
        "t",
        "T",
        [Column("group", "Group"), reports.N],
        [protect({"group": "Small", "n": 4}, ["n"], "primary")],
    )
    with pytest.raises(ValueError, match="protected"):
        csv_rows(stored)
    assert csv_rows(protected_table(stored))[1] == ["Small", None, True]


@pytest.mark.django_db
def test_dropout_by_early_trust_is_shown_to_the_supervisor_of_a_synthetic_clinic(client):
    # 120 clients: four therapists and one supervisor of them all (rapport synth).
    clinic = make_synth_clinic(slug="onesupervisor", clients=120)
    login_verified(client, clinic.supervisor)
    supervisor_page = client.get(reverse("insights-trust-alliance")).text
    client.logout()
    login_verified(client, clinic.researcher)
    researcher_page = client.get(reverse("insights-trust-alliance")).text

    as_supervisor = _section(supervisor_page, "early_trust_dropout")
    as_researcher = _section(researcher_page, "early_trust_dropout")
    thirds = ("Lowest third", "Middle third", "Highest third")
    for third in thirds:
        row = next(r for r in re.findall(r"<tr.*?</tr>", as_supervisor, re.S) if third in r)
        assert "suppressed" not in row and "%" in row, third
    # The same clinic's dropout counts are small, so the researcher's rows are blank ...
    assert "suppressed" in as_researcher
    # ... and the researcher's readings do not state what the table hides.
    dropout = next(r for r in _readings(supervisor_page).split("<li>") if "lowest early trust" in r)
    assert "dropped out" in dropout and "Small numbers: interpret with care" in dropout
    assert "lowest early trust" not in _readings(researcher_page)
