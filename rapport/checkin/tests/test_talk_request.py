"""The client's "I'd like to talk about how therapy is going" on the check-in's last screen.

Ticked (or with a line written), the submission stores one request for the therapist, its
line encrypted; the choice is kept in the draft like the comment, and a post from another
screen leaves it alone. Issue #21, point 3.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from rapport.checkin.answers import read_talk_choice
from rapport.checkin.models import CheckinDraft, TalkRequest
from rapport.checkin.submit import Outcome, submit_checkin
from rapport.checkin.tests.helpers import full_answers
from rapport.checkin.views import _posted_answers
from rapport.testing import issue_checkin_link, make_episode

pytestmark = pytest.mark.django_db

NOTE = "I am not sure the homework helps me"


def _final_screen(**fields) -> dict[str, str]:
    return {"talk_shown": "1", "comment": "", **fields}


def test_an_unticked_box_is_read_only_from_the_last_screen():
    assert read_talk_choice({"trust.t1": "3"}) is None  # another screen: keep the saved one
    assert read_talk_choice(_final_screen()).requested is False
    assert read_talk_choice(_final_screen(talk="1")).requested is True
    written = read_talk_choice(_final_screen(talk_note=f"  {NOTE}  "))
    assert written.requested is True and written.note == NOTE  # a line asks to talk too
    assert len(read_talk_choice(_final_screen(talk="1", talk_note="x" * 900)).note) == 500


def test_a_ticked_box_stores_one_request_with_the_line_encrypted(issued):
    result = submit_checkin(
        issued.token,
        _posted_answers(full_answers()),
        comment="",
        talk=read_talk_choice(_final_screen(talk="1", talk_note=NOTE)),
    )
    assert result.outcome is Outcome.STORED
    stored = TalkRequest.objects.get()
    assert stored.note == NOTE and stored.discussed_at is None
    assert stored.session_id == issued.link.session_id
    assert stored.episode_id == issued.link.session.episode_id
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT note FROM {TalkRequest._meta.db_table}")  # noqa: S608
        (raw,) = cursor.fetchone()
    assert NOTE not in str(raw)


def test_no_request_without_the_box(issued):
    submit_checkin(
        issued.token,
        _posted_answers(full_answers()),
        comment="",
        talk=read_talk_choice(_final_screen()),
    )
    assert not TalkRequest.objects.exists()


def test_the_choice_saved_in_the_draft_is_sent_with_the_check_in(client, issued):
    draft_url = reverse("checkin-draft", args=[issued.token])
    response = client.post(draft_url, _final_screen(talk="1", talk_note=NOTE))
    assert response.status_code == 200
    # Autosave from a questionnaire screen (no marker) keeps the choice.
    client.post(draft_url, {"phq9.phq9_1": "1"})
    draft = CheckinDraft.objects.get()
    assert draft.talk_requested and draft.talk_note == NOTE
    # The final screen shows it ticked when the client comes back.
    page = client.get(reverse("checkin-form", args=[issued.token]) + "?screen=3")
    assert 'name="talk" value="1" aria-describedby="ck-talk-hint" checked' in page.text
    assert NOTE in page.text
    # Sent without the fields (e.g. from a page saved earlier): the draft's choice counts.
    client.post(reverse("checkin-submit", args=[issued.token]), full_answers())
    assert TalkRequest.objects.get().note == NOTE


def test_unticking_on_the_last_screen_withdraws_the_request(client, issued):
    draft_url = reverse("checkin-draft", args=[issued.token])
    client.post(draft_url, _final_screen(talk="1"))
    send = {**full_answers(), **_final_screen()}  # the box left unticked
    client.post(reverse("checkin-submit", args=[issued.token]), send)
    assert not TalkRequest.objects.exists()


def test_the_first_sessions_check_in_does_not_offer_to_talk_about_therapy(client, clinics):
    # Before the first session there is no therapy yet to talk about.
    first = issue_checkin_link(make_episode(clinics.owner))
    assert first.link.session.number == 1
    page = client.get(reverse("checkin-form", args=[first.token]) + "?screen=9").text
    assert "Almost done" in page and "ck-talk" not in page
    later = issue_checkin_link(clinics.owner_episode)
    assert later.link.session.number > 1
    page = client.get(reverse("checkin-form", args=[later.token]) + "?screen=9").text
    assert 'class="ck-item ck-talk"' in page and "like to talk about how therapy is going" in page
