"""Names for the people allowed to see them; caseload search and filters (#17.5)."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from rapport.alerts import FlagKind
from rapport.clinic.models import ClientIdentity
from rapport.security.models import AuditEvent
from rapport.testing import issue_checkin_link, login_verified, make_episode, make_two_clinics
from rapport.workspace.caseload import CaseloadFilters
from rapport.workspace.names import matches

pytestmark = pytest.mark.django_db

NAME = "Ana López"


@pytest.fixture
def clinics():
    clinics = make_two_clinics()
    ClientIdentity.objects.create(
        client=clinics.owner_client, given_name="Ana", family_name="López"
    )
    return clinics


def page(client, user, url_name, *args, **query) -> str:
    login_verified(client, user)
    response = client.get(reverse(url_name, args=args), query)
    assert response.status_code == 200
    return response.content.decode()


def test_treating_therapist_sees_the_name_on_caseload_client_page_and_brief(client, clinics):
    owner, episode = clinics.owner, clinics.owner_episode
    assert NAME in page(client, owner, "home")
    assert NAME in page(client, owner, "client-detail", clinics.owner_client.public_id)
    assert NAME in page(client, owner, "episode-brief", episode.public_id)


def test_the_supervisor_sees_record_numbers_only(client, clinics):
    supervisor, episode = clinics.supervisor, clinics.owner_episode
    for url_name, arg in (
        ("home", None),
        ("client-detail", clinics.owner_client.public_id),
        ("episode-brief", episode.public_id),
        ("worklist", None),
        ("team", None),
    ):
        shown = page(client, supervisor, url_name, *([arg] if arg else []))
        assert "López" not in shown, url_name
    assert clinics.owner_client.record_number in page(client, supervisor, "home")


def test_worklist_names_the_client_for_the_treating_therapist(client, clinics):
    issue_checkin_link(clinics.owner_episode)
    shown = page(client, clinics.owner, "worklist")
    pending = shown[shown.index("Pending") :]
    assert clinics.owner_client.record_number in pending and NAME in pending


def test_pdf_report_names_the_client_for_the_treating_therapist_only(client, clinics):

    url = reverse("episode-report", args=[clinics.owner_episode.public_id])
    texts = {}
    for persona in ("owner", "supervisor"):
        login_verified(client, clinics.staff[persona])
        body = b"".join(client.get(url).streaming_content if False else [client.get(url).content])
        reader = PdfReader(io.BytesIO(body))
        texts[persona] = " ".join(p.extract_text() for p in reader.pages)
    assert NAME in texts["owner"]
    assert "López" not in texts["supervisor"]


def test_caseload_audit_entry_holds_no_name_nor_the_search(client, clinics):
    page(client, clinics.owner, "home", q="lopez")
    event = AuditEvent.objects.filter(action="caseload.read").latest("pk")
    assert event.detail == {"count": 1}
    assert "pez" not in str(event.detail).casefold()


def test_therapist_finds_a_client_by_name_without_accents_or_by_record_number(client, clinics):
    other = make_episode(clinics.owner, record_number="ZX-99")
    number = clinics.owner_client.record_number
    found = page(client, clinics.owner, "home", q="lopez ana")
    assert NAME in found and "ZX-99" not in found
    assert "Showing 1 of 2 active clients" in found
    found = page(client, clinics.owner, "home", q="zx-9")
    assert "ZX-99" in found and number not in found
    assert other.client.record_number == "ZX-99"


def test_supervisor_cannot_search_by_name(client, clinics):
    shown = page(client, clinics.supervisor, "home", q="Ana")
    assert clinics.owner_client.record_number not in shown
    assert "No active clients match these filters." in shown
    shown = page(client, clinics.supervisor, "home", q=clinics.owner_client.record_number)
    assert clinics.owner_client.record_number in shown
    assert "Search by record number" in shown


def test_supervisor_filters_by_therapist(client, clinics):
    colleague_episode = make_episode(clinics.colleague, record_number="COL-1")
    everyone = page(client, clinics.supervisor, "home")
    assert "COL-1" in everyone and clinics.owner_client.record_number in everyone
    assert f'<option value="{clinics.colleague.public_id}">' in everyone
    only = page(client, clinics.supervisor, "home", therapist=str(clinics.colleague.public_id))
    assert "COL-1" in only and clinics.owner_client.record_number not in only
    assert colleague_episode.therapist == clinics.colleague


def test_therapist_has_no_therapist_filter_and_cannot_reach_colleagues_clients(client, clinics):
    make_episode(clinics.colleague, record_number="COL-1")
    shown = page(client, clinics.owner, "home", therapist=str(clinics.colleague.public_id))
    assert 'name="therapist"' not in shown
    assert "COL-1" not in shown
    assert "No active clients match these filters." in shown


def test_filters_by_flag_kind_and_checkin_state(client, clinics, trajectory):
    trajectory(clinics.owner, "SAFE-1", phq9=(12, 14), unsafe_at=2)
    trajectory(clinics.owner, "CALM-1", phq9=(6, 5))
    make_episode(clinics.owner, record_number="NEW-1")
    safety = page(client, clinics.owner, "home", flag="safety")
    assert "SAFE-1" in safety and "CALM-1" not in safety
    completed = page(client, clinics.owner, "home", checkin="completed")
    assert "SAFE-1" in completed and "CALM-1" in completed and "NEW-1" not in completed
    never = page(client, clinics.owner, "home", checkin="none")
    assert "NEW-1" in never and "SAFE-1" not in never
    sorted_link = page(client, clinics.owner, "home", flag="safety")
    assert "?sort=record&amp;flag=safety" in sorted_link


def test_invalid_filters_are_reported_and_not_applied(client, clinics):
    shown = page(client, clinics.owner, "home", flag="everything", checkin="maybe")
    assert "Some filters were not understood" in shown
    assert NAME in shown


def test_search_matches_every_word_ignoring_case_and_accents():
    assert matches("lopez", "R1", "Ana López")
    assert matches("ANA r1", "R1", "Ana López")
    assert not matches("ana garcia", "R1", "Ana López")
    assert not matches("ana", "R1")  # no name to match for readers who may not see it


def test_filters_reject_an_unknown_checkin_state():
    with pytest.raises(ValueError, match="unknown check-in state"):
        CaseloadFilters(checkin="maybe")
    assert not CaseloadFilters()
    assert CaseloadFilters(flag=FlagKind.SAFETY)


def test_team_page_indexes_each_therapist_with_a_link_to_their_filtered_caseload(client, clinics):
    shown = page(client, clinics.supervisor, "team")
    start = shown.index('class="team-index"')
    index = shown[start : shown.index("</nav>", start)]
    assert f'href="#team-{clinics.owner.pk}"' in index
    assert f"?therapist={clinics.colleague.public_id}" in index


def test_a_name_search_leaves_no_name_in_the_logs(client, clinics, caplog):
    caplog.set_level("DEBUG")
    shown = page(client, clinics.owner, "home", q="López")
    assert NAME in shown
    assert "López" not in caplog.text and "L%C3%B3pez" not in caplog.text
