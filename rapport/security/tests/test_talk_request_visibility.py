"""One rule for a client's request to talk about how therapy is going, on every channel.

The client was told: only the treating therapist and their clinical supervisor see it.
So the caseload, the client page and the brief show it to those two and nobody else
(:func:`rapport.security.access.may_see_talk_request`), and the PDF report, the API, the
FHIR export, the research export and the aggregates never carry it. Issue #21, point 3.
"""

from __future__ import annotations

import html
import io
import json
import re
from pathlib import Path

import pytest
from django.urls import reverse
from pypdf import PdfReader

from rapport.accounts.models import Role
from rapport.checkin.models import TalkRequest
from rapport.clinic.models import ConsentKind
from rapport.core.instruments import instruments
from rapport.interop.fhir_export import client_bundle
from rapport.interop.research_export import export_research
from rapport.security import rights
from rapport.security.access import active_caseload, may_see_talk_request
from rapport.security.models import AuditEvent
from rapport.testing import (
    add_score,
    api_token,
    bearer,
    login_verified,
    make_episode,
    make_two_clinics,
    make_user,
)
from rapport.workspace.caseload import caseload

pytestmark = pytest.mark.django_db

NOTE = "the exercises feel rushed"
ASKED = "asked to talk about how therapy is going"
PACKAGE = Path(__file__).resolve().parents[2]


@pytest.fixture
def clinics():
    clinics = make_two_clinics()
    episode = clinics.owner_episode
    clinics.talk = TalkRequest.objects.create(
        episode=episode, session=episode.sessions.get(number=2), note=NOTE
    )
    return clinics


def test_only_the_treating_therapist_and_their_supervisor_may_see_it(clinics):
    episode = clinics.owner_episode
    other_supervisor = make_user(clinics.organisation, Role.SUPERVISOR)
    allowed = {name: may_see_talk_request(user, episode) for name, user in clinics.staff.items()}
    assert {name for name, yes in allowed.items() if yes} == {"owner", "supervisor"}
    assert not may_see_talk_request(other_supervisor, episode)
    # After a hand-over the former therapist no longer sees it; the new one does.
    episode.therapist = clinics.colleague
    episode.save()
    assert not may_see_talk_request(clinics.owner, episode)
    assert may_see_talk_request(clinics.colleague, episode)


def _page(django_client, user, url: str) -> str:
    login_verified(django_client, user)
    response = django_client.get(url)
    django_client.logout()
    assert response.status_code == 200
    return html.unescape(response.content.decode())


@pytest.mark.parametrize("reader", ["owner", "supervisor"])
def test_caseload_client_page_and_brief_show_it_to_the_two_who_may(client, clinics, reader):
    user = clinics.staff[reader]
    episode = clinics.owner_episode
    home = _page(client, user, reverse("home"))
    page = _page(client, user, reverse("client-detail", args=[episode.client.public_id]))
    brief = _page(client, user, reverse("episode-brief", args=[episode.public_id]))
    for text in (home, page, brief):
        assert ASKED in text
    # The client's own line on the client page and the brief, not in the caseload list.
    assert NOTE in page and NOTE in brief and NOTE not in home
    assert ("Mark as discussed" in page) is (reader == "owner")


def test_every_other_channel_leaves_it_out(client, clinics, tmp_path):
    owner, supervisor = clinics.owner, clinics.supervisor
    episode = clinics.owner_episode
    login_verified(client, supervisor)
    pdf = client.get(reverse("episode-report", args=[episode.public_id]))
    assert pdf.status_code == 200
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Alliance rupture" not in text and "talk" not in text.lower()
    client.logout()
    for path in ("/api/v1/alerts", "/api/v1/episodes", f"/api/v1/episodes/{episode.public_id}"):
        response = client.get(path, headers=bearer(api_token(owner)))
        assert response.status_code == 200, path
        assert NOTE not in response.text and "talk" not in response.text.lower(), path
    bundle = json.dumps(
        client_bundle(episode.client.record_number, clinics.organisation, instruments(), user=owner)
    )
    assert NOTE not in bundle and "talk" not in bundle.lower()
    rights.set_consent(episode.client, ConsentKind.RESEARCH, True)
    export_research(clinics.organisation, tmp_path / "out")
    exported = " ".join(
        path.read_bytes().decode("utf-8", "replace") for path in (tmp_path / "out").iterdir()
    )
    assert NOTE not in exported and "talk" not in exported.lower()


def test_nothing_but_the_access_checked_reader_reads_the_requests():
    # "Never used in any aggregate": the table is read in one module, which asks the
    # access layer; a new reader (insights, API, export) has to be added here knowingly.
    allowed = {
        "checkin/models.py",
        "checkin/submit.py",
        "checkin/talk_requests.py",
        "security/rights.py",  # erasure blanks the client's line
        "workspace/flags.py",  # turns the requests it is given into flags
    }
    readers = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if re.search(r"\bTalkRequest\b", path.read_text(encoding="utf-8"))
        and "tests" not in path.parts
        and "migrations" not in path.parts
    }
    assert readers == allowed


def test_the_request_stays_until_the_therapist_marks_it_discussed(client, clinics):
    episode = clinics.owner_episode
    # A later check-in without the box does not clear it: the client has not been heard.
    add_score(episode.sessions.get(number=2), "rapport_trust", 6.5)
    assert ASKED in caseload_text(clinics.owner)
    url = reverse("episode-talk-discussed", args=[episode.public_id])
    login_verified(client, clinics.supervisor)
    assert client.post(url, {"request": str(clinics.talk.public_id)}).status_code == 403
    client.logout()
    login_verified(client, clinics.owner)
    response = client.post(url, {"request": str(clinics.talk.public_id)})
    assert response.status_code == 302
    clinics.talk.refresh_from_db()
    assert clinics.talk.discussed_by == clinics.owner and clinics.talk.discussed_at
    event = AuditEvent.objects.get(action="talk_request.discussed")
    assert event.object_id == str(clinics.talk.public_id)
    assert ASKED not in caseload_text(clinics.owner)
    # A second click (another tab) finds nothing open.
    assert client.post(url, {"request": str(clinics.talk.public_id)}).status_code == 404


def caseload_text(user) -> str:
    rows = caseload(active_caseload(user), user).rows
    return " ".join(flag.message for row in rows for flag in row.open_flags)


def test_it_ranks_with_the_rupture_flags_above_trust(clinics):
    owner = clinics.owner
    low_trust = make_episode(owner, sessions=1)
    add_score(low_trust.sessions.get(number=1), "rapport_trust", 2.0)
    rows = caseload(active_caseload(owner), owner).rows
    assert [row.episode for row in rows][:2] == [clinics.owner_episode, low_trust]
    top = rows[0]
    assert top.urgency == 2 and top.open_flags[0].label == "Asked to talk"


def test_erasure_blanks_the_clients_line(clinics):
    rights.erase_client(clinics.owner_client)
    clinics.talk.refresh_from_db()
    assert clinics.talk.note == ""
