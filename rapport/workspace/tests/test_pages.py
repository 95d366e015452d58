"""Client page, acknowledgement, plan editing, brief, PDF report, worklist and team view."""

import html
import io
import re

import pytest
from django.urls import reverse
from pypdf import PdfReader

from rapport.checkin.models import Alert, CheckinLink, CheckinSubmission
from rapport.clinic.models import MeasurementPlan
from rapport.security.models import AuditEvent
from rapport.testing import (
    browser_submission,
    login_verified,
    make_organisation,
    make_user,
    schedule_next_session,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    organisation = make_organisation()
    supervisor = make_user(organisation, "supervisor")
    therapist = make_user(organisation, supervisor=supervisor)
    colleague = make_user(organisation, supervisor=supervisor)
    return {"supervisor": supervisor, "therapist": therapist, "colleague": colleague}


@pytest.fixture
def unsafe(team, trajectory):
    """A client whose trust and alliance fell and who answered PHQ-9 item 9 at session 3."""
    episode = trajectory(
        team["therapist"],
        "R-URGENT",
        trust=[6, 6, 4],
        alliance=[36, 36, 22],
        phq9=[16, 14, 15],
        unsafe_at=3,
    )
    session = episode.sessions.get(number=3)
    link = CheckinLink.objects.create(
        session=session, token_hash="a" * 64, channel="email", expires_at=session.scheduled_at
    )
    CheckinSubmission.objects.create(
        link=link, session=session, comment="I felt <b>rushed</b> last time."
    )
    return episode


def client_page(client, episode) -> str:
    response = client.get(reverse("client-detail", args=[episode.client.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_client_page_has_accessible_charts_items_comments_and_history(client, team, unsafe):
    login_verified(client, team["therapist"])
    page = client_page(client, unsafe)
    # Charts: an <img> from a data: URL (the CSP allows img-src data:), with a text
    # description as alt text and a data table.
    image = r'<img src="data:image/svg\+xml;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"'
    images = re.findall(image, page)
    assert len(images) == 3
    assert any("PHQ-9 scores (0\u201327, lower is better)" in alt for alt in images)
    assert page.count("<summary>Data table:") == 3
    assert "Trust &amp; Respect check-in by session" in page
    # Items that moved, the comment (escaped), sessions and check-ins, the plan.
    assert "Which items moved" in page and 'class="moved"' in page
    assert "I felt &lt;b&gt;rushed&lt;/b&gt; last time." in page
    assert "Sessions and check-ins" in page and "Trust &amp; Respect check-in (completed)" in page
    assert "PHQ-9: every session from session 1" in page and "phq9:" not in page
    assert "style=" not in page and "<script" not in page


def test_chart_svg_has_no_inline_style_or_script(team, unsafe):
    from rapport.security.access import episodes_for
    from rapport.workspace.client_record import episode_views

    (view,) = episode_views(episodes_for(team["therapist"]), team["therapist"])
    for panel in view.panels:
        svg = panel.chart.svg
        assert svg.startswith("<svg") and "<script" not in svg
        assert panel.chart.png()[:8] == b"\x89PNG\r\n\x1a\n"


def test_acknowledging_a_safety_flag_records_the_alert_note_and_audit(client, team, unsafe):
    login_verified(client, team["therapist"])
    page = client_page(client, unsafe)
    target = re.search(r'name="target" value="([^"]+)"', page).group(1)
    assert target == "critical:phq9_9@3"
    url = reverse("episode-acknowledge", args=[unsafe.public_id])
    record = {"contact_method": "phone", "risk_outcome": "risk_present_plan_reviewed"}
    note = "Phoned; safety plan reviewed."
    response = client.post(url, {"target": target, "note": note, **record})
    assert response.status_code == 302
    alert = Alert.objects.get(episode=unsafe)
    assert alert.acknowledged_by == team["therapist"]
    assert alert.acknowledgement_note == "Phoned; safety plan reviewed."
    assert alert.raised_at == unsafe.sessions.get(number=3).scheduled_at
    events = AuditEvent.objects.filter(action="alert.acknowledge")
    assert events.get().object_id == str(alert.public_id)
    page = client_page(client, unsafe)
    assert "Safety (acknowledged)" in page and "Phoned; safety plan reviewed." in page
    report = client.get(reverse("episode-report", args=[unsafe.public_id]))
    assert report.content.startswith(b"%PDF")  # with the acknowledgement in its table
    # Twice is not possible, and the note is visible to the supervisor with the time taken.
    assert client.post(url, {"target": target, "note": "again", **record}).status_code == 404
    login_verified(client, team["supervisor"])
    team_page = client.get(reverse("team")).content.decode()
    assert "Phoned; safety plan reviewed." in team_page
    assert "Median time to acknowledge" in team_page


def test_acknowledging_needs_a_record_and_an_open_flag_of_this_episode(client, team, unsafe):
    login_verified(client, team["therapist"])
    url = reverse("episode-acknowledge", args=[unsafe.public_id])
    client.post(url, {"target": "critical:phq9_9@3", "note": "Phoned."})
    assert not Alert.objects.filter(acknowledged_at__isnull=False).exists()
    record = {"contact_method": "phone", "risk_outcome": "no_current_risk"}
    assert client.post(url, {"target": "critical:phq9_9@2", **record}).status_code == 404
    login_verified(client, team["colleague"])
    assert client.post(url, {"target": "critical:phq9_9@3", **record}).status_code == 404


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_plan_names_questionnaires_as_clinicians_do(client, team, unsafe, language):
    from rapport.core.instruments import instruments

    team["therapist"].language = language
    team["therapist"].save(update_fields=["language"])
    login_verified(client, team["therapist"])

    page = client.get(reverse("episode-plan", args=[unsafe.public_id])).content.decode()

    offered = re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', page)
    names = {value: html.unescape(text) for value, text in offered if value in instruments()}
    assert set(names) == set(instruments()), "every installed questionnaire is offered"
    assert names["phq9"] == "PHQ-9"
    assert names["rapport_trust"] == instruments()["rapport_trust"].title[language]
    assert not [text for text in names.values() if any(i in text for i in instruments())]
    assert len(set(names.values())) == len(names), "no two read the same"


NOT_FROM_A_CHECK_IN = "Nobody was notified of this answer: it was not given in a check-in (imp"
FROM_A_RELATIONSHIP_SCALE = (
    "Nobody was notified of this answer: it was not given in a check-in, or was given before "
    "answers about the relationship raised alerts"
)


def test_a_safety_flag_nobody_was_told_of_says_so(client, team, unsafe, trajectory):
    # Item 9 endorsed in records that raised no alert (as an import does), and a client
    # who did not feel safe with their therapist in records that raised none either
    # (imported, or from before relationship answers raised alerts).
    unsafe_with_therapist = trajectory(team["therapist"], "R-TRUST", trust=[6, 1], phq9=[8, 8])
    login_verified(client, team["therapist"])

    imported = client_page(client, unsafe)
    assert NOT_FROM_A_CHECK_IN in imported and FROM_A_RELATIONSHIP_SCALE not in imported
    trust = client_page(client, unsafe_with_therapist)
    assert FROM_A_RELATIONSHIP_SCALE in trust and NOT_FROM_A_CHECK_IN not in trust
    brief = client.get(reverse("episode-brief", args=[unsafe.public_id])).content.decode()
    assert NOT_FROM_A_CHECK_IN in brief
    pdf = client.get(reverse("episode-report", args=[unsafe.public_id])).content
    printed = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert NOT_FROM_A_CHECK_IN in " ".join(printed.split())

    # Once the alert exists (raised by a check-in, or by acknowledging), nothing is said.
    record = {"contact_method": "phone", "risk_outcome": "no_current_risk"}
    target = "critical:phq9_9@3"
    assert (
        client.post(
            reverse("episode-acknowledge", args=[unsafe.public_id]), {"target": target, **record}
        ).status_code
        == 302
    )
    assert NOT_FROM_A_CHECK_IN not in client_page(client, unsafe)


def test_plan_edit_makes_an_episode_copy_and_validates(client, team, unsafe):
    login_verified(client, team["therapist"])
    url = reverse("episode-plan", args=[unsafe.public_id])
    assert client.get(url).status_code == 200
    default = unsafe.plan

    def post(rows):
        data = {"plan-TOTAL_FORMS": len(rows), "plan-INITIAL_FORMS": 0}
        for index, (instrument_id, every, first) in enumerate(rows):
            data[f"plan-{index}-instrument_id"] = instrument_id
            data[f"plan-{index}-every_n_sessions"] = every
            data[f"plan-{index}-first_session"] = first
        return client.post(url, data)

    for bad in ([("nope", 1, 1)], [("phq9", 0, 1)], [("phq9", 1, 1), ("phq9", 2, 1)]):
        response = post(bad)
        assert response.status_code == 200 and 'class="errorlist' in response.content.decode()
    # A relationship check-in rates the last session: none before the first session.
    refused = post([("phq9", 2, 1), ("rapport_trust", 1, 1)]).content.decode()
    assert (
        "Trust &amp; Respect check-in asks about the last session, so it can start at session "
        "2 at the earliest." in refused
    )
    assert post([("phq9", 2, 1), ("rapport_trust", 1, 2)]).status_code == 302
    unsafe.refresh_from_db()
    assert unsafe.plan != default and not unsafe.plan.is_default
    assert unsafe.plan.instruments_due(3) == ["phq9", "rapport_trust"]
    assert unsafe.plan.instruments_due(2) == ["rapport_trust"]
    assert unsafe.plan.instruments_due(1) == ["phq9"]
    assert MeasurementPlan.objects.get(pk=default.pk).entries.count() == 4  # untouched
    assert AuditEvent.objects.filter(action="plan.update").count() == 1
    # A second edit changes the episode's own copy in place.
    assert post([("gad7", 4, 1)]).status_code == 302
    unsafe.refresh_from_db()
    assert [e.instrument_id for e in unsafe.plan.entries.all()] == ["gad7"]
    assert MeasurementPlan.objects.count() == 2


def test_the_plan_page_saved_as_it_is_keeps_the_plan(client, team, unsafe):
    # Relationship questionnaires from session 2, as every plan has them since clinic.0008
    # (the test clinic's plan predates the rule).
    unsafe.plan.entries.filter(instrument_id__startswith="rapport_").update(first_session=2)
    login_verified(client, team["therapist"])
    url = reverse("episode-plan", args=[unsafe.public_id])
    before = unsafe.plan.instruments_due(3)
    untouched = browser_submission(client.get(url).content.decode(), "plan")
    response = client.post(url, untouched)
    assert response.status_code == 302, response.content.decode()
    unsafe.refresh_from_db()
    assert unsafe.plan.instruments_due(3) == before


def test_brief_shows_changes_alerts_comment_and_relationship_suggestions(client, team, unsafe):
    login_verified(client, team["therapist"])
    page = client.get(reverse("episode-brief", args=[unsafe.public_id])).content.decode()
    change = "Trust &amp; Respect check-in: 6 at session 2 \u2192 4 at session 3 (down 2, worse)."
    assert change in page
    assert "Alliance rupture:" in page and "Safety:" in page
    assert "I felt &lt;b&gt;rushed&lt;/b&gt; last time." in page
    assert "Talking about the relationship" in page
    assert "Safran &amp; Muran 2000" in page


def test_brief_of_a_stable_client_has_no_relationship_suggestions(client, team, trajectory):
    episode = trajectory(team["therapist"], "R-FINE", trust=[6, 6], alliance=[36, 37])
    login_verified(client, team["therapist"])
    page = client.get(reverse("episode-brief", args=[episode.public_id])).content.decode()
    assert "Talking about the relationship" not in page
    assert "No flags." in page


def test_pdf_report_is_a_pdf_and_its_download_is_audited(client, team, unsafe):
    login_verified(client, team["supervisor"])
    response = client.get(reverse("episode-report", args=[unsafe.public_id]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "attachment" in response["Content-Disposition"]
    event = AuditEvent.objects.get(action="report.download")
    assert event.object_id == str(unsafe.public_id) and event.actor_id == team["supervisor"].pk


def test_pdf_report_keeps_notes_written_beyond_latin_1(client, team, unsafe):
    # Vietnamese, Czech, Greek and typographic characters (en dash, curly quotes, arrow).
    note = "Đã gọi điện \u2013 Dvořák \u201cok\u201d; Ωμέγα \u2192 plan ≥ 2"
    login_verified(client, team["therapist"])
    page = client_page(client, unsafe)
    target = re.search(r'name="target" value="([^"]+)"', page).group(1)
    acknowledge = reverse("episode-acknowledge", args=[unsafe.public_id])
    record = {"contact_method": "in_session", "risk_outcome": "no_current_risk"}
    client.post(acknowledge, {"target": target, "note": note, **record})
    report = client.get(reverse("episode-report", args=[unsafe.public_id]))
    pages = PdfReader(io.BytesIO(report.content)).pages
    text = "".join(pdf_page.extract_text() for pdf_page in pages)
    # The table wraps the note over lines: compare without white space.
    assert re.sub(r"\s+", "", note) in re.sub(r"\s+", "", text)


def test_worklist_and_team_pages(client, team, unsafe):
    login_verified(client, team["therapist"])
    assert "Check-in worklist" in client.get(reverse("worklist")).content.decode()
    assert client.get(reverse("team")).status_code == 403
    login_verified(client, team["supervisor"])
    page = client.get(reverse("team")).content.decode()
    assert "R-URGENT" in page and str(team["colleague"]) in page


@pytest.fixture
def blank_risk_item(team):
    """A client whose latest PHQ-9 (imported) left item 9 blank: prorated, risk unknown."""
    from rapport.core.instruments import instruments
    from rapport.testing import add_answers, make_episode

    phq9 = instruments()["phq9"]
    episode = make_episode(team["therapist"], record_number="R-BLANK9", sessions=2)
    add_answers(episode.sessions.get(number=1), phq9, dict.fromkeys(phq9.scored_item_ids, 1))
    add_answers(episode.sessions.get(number=2), phq9, dict.fromkeys(phq9.scored_item_ids[:8], 2))
    return episode


def test_client_page_marks_an_estimated_total_and_flags_the_blank_risk_item(
    client, team, blank_risk_item
):
    login_verified(client, team["therapist"])

    page = client_page(client, blank_risk_item)

    # 16 answered over 8 items, prorated to 18: shown, but never as if fully answered.
    assert '<td class="num">18 (estimated)</td>' in page
    assert "<td>18 (estimated)</td>" in page  # the chart's data table
    assert "PHQ-9 item 9 (\u201cThoughts that you would be better off dead" in page
    assert "was not answered at session 2, so the risk it asks about is unknown" in page


def test_pdf_report_marks_an_estimated_total_and_the_blank_risk_item(client, team, blank_risk_item):
    login_verified(client, team["therapist"])

    report = client.get(reverse("episode-report", args=[blank_risk_item.public_id]))

    pages = PdfReader(io.BytesIO(report.content)).pages
    text = re.sub(r"\s+", " ", "".join(pdf_page.extract_text() for pdf_page in pages))
    assert "18 (estimated) (s2)" in text
    assert "was not answered at session 2" in text


def test_the_client_page_and_brief_say_relationship_answers_rate_the_session_before(
    client, team, unsafe
):
    login_verified(client, team["therapist"])
    page = client_page(client, unsafe)
    said = "answers about trust, the alliance and openness rate the session before it."
    assert said in page
    assert "Since the first score" in page and "Since session 1" not in page
    brief = client.get(reverse("episode-brief", args=[unsafe.public_id])).content.decode()
    assert said in brief


def test_a_past_session_without_a_check_in_has_none_not_none_yet(client, team, trajectory):
    # A missed session long past never gets a check-in: "none yet" promised one.
    episode = trajectory(team["therapist"], "R-MISSED", phq9=[12, None])
    episode.sessions.filter(number=2).update(status="missed")
    schedule_next_session(episode)
    login_verified(client, team["therapist"])
    page = client_page(client, episode)
    rows = re.findall(r'<tr><td class="num">(\d+)</td>(.*?)</tr>', page, flags=re.DOTALL)
    states = {
        number: re.findall(r'<span class="muted">([^<]+)</span>', row) for number, row in rows
    }
    assert states == {"3": ["none yet"], "2": ["none"], "1": []}
