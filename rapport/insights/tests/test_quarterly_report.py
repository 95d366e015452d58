"""The quarterly trust report (PDF) of a clinic or a team (#20.7), on a synthetic clinic.

The synthetic clinic's care runs up to June 2026 (its anchor), so the report of the
first quarter of 2026 has figures, some of them resting on small groups.
"""

from __future__ import annotations

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from rapport.accounts.models import Role, User
from rapport.insights import snapshots
from rapport.insights.disclosure import protected
from rapport.insights.quarterly import (
    Quarter,
    QuarterError,
    complete_quarter,
    last_complete_quarter,
)
from rapport.insights.scope import InsightScope
from rapport.insights.tables import display_rows, rests_on_small_numbers
from rapport.security.models import AuditEvent
from rapport.testing import login_verified, make_organisation, make_user, reads_in

pytestmark = pytest.mark.django_db

QUARTER = "2026-Q1"
QUARTER_SCOPE = InsightScope(datetime.date(2026, 1, 1), datetime.date(2026, 3, 1))
URL = reverse("insights-report")


@pytest.fixture(scope="module")
def clinic(module_synth_clinic, django_db_blocker):
    """The module's synthetic clinic with its snapshot, computed once."""
    with django_db_blocker.unblock():
        snapshots.current(module_synth_clinic.organisation)
    return module_synth_clinic


def text_of(pdf: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def report(client, user, **params) -> str:
    login_verified(client, user)
    response = client.get(URL, {"quarter": QUARTER, **params})
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return text_of(response.content)


def shown_cells(stored) -> list[str]:
    """The formatted figures (not labels) of a protected table's rows."""
    numeric = [i for i, column in enumerate(stored["columns"]) if column["kind"] != "text"]
    return [row["cells"][i]["text"] for row in display_rows(stored) for i in numeric]


@pytest.mark.parametrize("role", ["supervisor", "clinic_admin"])
def test_supervisors_and_clinic_admins_get_the_clinic_report(client, clinic, role):
    text = report(client, getattr(clinic, role))
    assert "Quarterly trust report" in text
    assert "Q1 2026 (January to March)" in text
    assert "Whole clinic" in text
    for heading in ("Trust and alliance", "Outcomes", "Equity", "Instrument health"):
        assert heading in text
    assert "no figure resting on 1 to 10 people is shown" in text


def test_the_report_carries_the_protected_pages_figures_and_no_suppressed_one(client, clinic):
    exact = snapshots.for_scope(clinic.organisation, QUARTER_SCOPE).data["pages"]
    shown = protected({"pages": exact})["pages"]
    text = report(client, clinic.clinic_admin)
    # The protected page shows these figures for the same quarter ...
    page = client.get(reverse("insights-trust-alliance"), {"from": "2026-01", "to": "2026-03"})
    headline = [
        (shown["instruments"], "published_comparison"),
        (shown["trust_alliance"], "early_trust_dropout"),
        (shown["outcomes"], "reliable_change"),
    ]
    figures = []
    for page_figures, name in headline:
        stored = next(t for t in page_figures["tables"] if t["name"] == name)
        figures += [cell for cell in shown_cells(stored) if cell != "—"]
    assert figures
    trust_and_alliance = next(
        t for t in shown["instruments"]["tables"] if t["name"] == "published_comparison"
    )
    assert shown_cells(trust_and_alliance)[3] in page.text  # the 95% CI of r
    # ... and the report states every one of them.
    for figure in figures:
        assert figure in text
    # A figure resting on 1 to 10 people (its exact interval) appears nowhere.
    small = [
        row
        for page_figures in exact.values()
        for stored in page_figures["tables"]
        if stored["name"] in ("early_trust_dropout", "reliable_change", "endings")
        for row in stored["rows"]
        if rests_on_small_numbers(row) and row.get("ci_low") is not None
    ]
    assert small, "the quarter should have small groups"
    for row in small:
        interval = f"{100 * row['ci_low']:.1f}% to {100 * row['ci_high']:.1f}%"
        assert interval not in text, row


def test_a_team_report_for_the_supervisor_and_the_clinic_admin(client, clinic):
    team = {"team": str(clinic.supervisor.public_id)}
    words = f"Team of {clinic.supervisor}"
    assert words in report(client, clinic.supervisor, **team)
    client.logout()
    assert words in report(client, clinic.clinic_admin, **team)
    event = AuditEvent.objects.filter(action="insights.report").latest("seq")
    assert event.detail["scope"] == ["from=2026-01", "to=2026-03", f"team={clinic.supervisor.pk}"]
    assert event.actor_id == clinic.clinic_admin.pk


def test_a_researcher_gets_no_quarterly_report(client, clinic):
    # Researchers see whole calendar years only; a quarter is finer (docs/insights.md).
    login_verified(client, clinic.researcher)
    team = str(clinic.supervisor.public_id)
    for query in ({"quarter": QUARTER}, {"quarter": QUARTER, "team": team}):
        response = client.get(URL, query)
        assert response.status_code == 403
        assert "Researchers see whole calendar years" in response.text


def test_another_clinics_supervisor_cannot_get_a_team_of_this_clinic(client, clinic):
    stranger = make_user(make_organisation(), Role.SUPERVISOR)
    login_verified(client, stranger)
    response = client.get(URL, {"quarter": QUARTER, "team": str(clinic.supervisor.public_id)})
    assert response.status_code == 400
    assert clinic.organisation.name not in response.text


def test_a_supervisor_cannot_get_another_supervisors_team(client, clinic):
    supervisors = User.objects.filter(organisation=clinic.organisation, role=Role.SUPERVISOR)
    other = supervisors.exclude(pk=clinic.supervisor.pk)[0]
    login_verified(client, clinic.supervisor)
    response = client.get(URL, {"quarter": QUARTER, "team": str(other.public_id)})
    assert response.status_code == 400


def test_therapists_are_refused_and_anonymous_users_sent_to_sign_in(client, clinic):
    assert client.get(URL).status_code == 302
    assert "login" in client.get(URL)["Location"]
    login_verified(client, clinic.therapist)
    assert client.get(URL, {"quarter": QUARTER}).status_code == 403


@pytest.mark.parametrize("quarter", ["2026-Q5", "2026-3", "Q1 2026", "1800-Q1", "2999-Q1"])
def test_a_bad_or_unfinished_quarter_is_a_clear_400(client, clinic, quarter):
    login_verified(client, clinic.clinic_admin)
    response = client.get(URL, {"quarter": quarter})
    assert response.status_code == 400
    assert "quarter" in response.text


def test_an_unknown_team_is_a_400(client, clinic):
    login_verified(client, clinic.clinic_admin)
    assert client.get(URL, {"quarter": QUARTER, "team": "not-a-team"}).status_code == 400


def test_the_default_is_the_last_complete_quarter_of_the_whole_clinic(client, clinic):
    login_verified(client, clinic.clinic_admin)
    response = client.get(URL)
    assert response.status_code == 200
    expected = last_complete_quarter(timezone.localdate())
    assert f"synthclinic-trust-report-{expected}.pdf" in response["Content-Disposition"]
    assert expected.words() in text_of(response.content)


def test_a_spanish_reader_gets_the_report_in_spanish(client, clinic):
    reader = User.objects.get(pk=clinic.clinic_admin.pk)
    reads_in(reader, "es")
    text = report(client, reader)
    assert "Informe trimestral de confianza" in text
    assert "T1 2026 (enero a marzo)" in text
    assert "Toda la clínica" in text
    for heading in ("Confianza y alianza", "Resultados", "Equidad", "Calidad de los instrumentos"):
        assert heading in text
    assert "Trust and alliance" not in text


def test_the_insights_page_offers_eight_quarters_and_the_readers_teams(client, clinic):
    login_verified(client, clinic.clinic_admin)
    html = client.get(reverse("insights")).text
    assert "Download the quarterly report (PDF)" in html
    assert len(re.findall(r'<option value="\d{4}-Q\d"', html)) == 8
    assert str(clinic.supervisor.public_id) in html
    client.logout()
    login_verified(client, clinic.researcher)
    html = client.get(reverse("insights")).text
    assert "Download the quarterly report (PDF)" not in html


def test_quarters_are_read_strictly_and_must_be_over():
    today = datetime.date(2026, 12, 6)
    assert last_complete_quarter(today) == Quarter(2026, 3)
    assert last_complete_quarter(datetime.date(2026, 1, 1)) == Quarter(2025, 4)
    assert complete_quarter("2026-Q3", today) == Quarter(2026, 3)
    assert Quarter(2026, 1).first_month == datetime.date(2026, 1, 1)
    assert Quarter(2026, 4).last_month == datetime.date(2026, 12, 1)
    with pytest.raises(QuarterError):
        complete_quarter("2026-Q4", today)
    with pytest.raises(QuarterError):
        complete_quarter("2026-Q0", today)


def test_a_quarter_without_care_still_gives_a_report(client, clinic):
    text = report(client, clinic.clinic_admin, quarter="2020-Q1")
    assert "Q1 2020 (January to March)" in text
    assert "0 clients and 0 episodes of care open during the quarter." in text
