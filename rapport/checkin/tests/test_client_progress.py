"""The client's own progress: who may open it, what it shows, and "review together".

Issue #21, points 1, 2 and 4: the view opens only in the browser that just sent its
check-in, briefly, or on a device a therapist handed over for review; it shows only the
link's own episode, only the questionnaires the clinic chose, and never another client.
"""

from __future__ import annotations

import datetime
import html

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.checkin import progress_link, review
from rapport.checkin.models import CheckinLink
from rapport.checkin.tests.helpers import full_answers
from rapport.clinic.models import (
    ClientProgress,
    EndReason,
    Episode,
    EpisodeStatus,
    Organisation,
    TrustAnswersAudience,
)
from rapport.core.instruments import instruments
from rapport.security.access import (
    RELATIONSHIP_CONSTRUCTS,
    SYMPTOM_CONSTRUCTS,
    client_progress_constructs,
)
from rapport.security.models import AuditEvent
from rapport.testing import (
    add_answers,
    add_session,
    issue_checkin_link,
    login_verified,
    make_episode,
)

pytestmark = pytest.mark.django_db

SEE_PROGRESS = {"en": "See your progress", "es": "Ver su progreso"}


def turn_on(clinics, setting=ClientProgress.SYMPTOMS_AND_RELATIONSHIP, audience="therapist"):
    clinics.organisation.client_progress = setting
    clinics.organisation.trust_answers_audience = audience
    clinics.organisation.save()


def submit(client, issued, language="en", **answers):
    data = {**full_answers(), **answers, "lang": language}
    response = client.post(f"{issued.path}submit/", data)
    assert response.status_code == 200
    return response.content.decode()


def progress_url(issued) -> str:
    return reverse("checkin-progress", kwargs={"token": issued.token})


# --- the access rule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "audience", "hidden", "expected"),
    [
        (ClientProgress.OFF, "therapist", False, frozenset()),
        (ClientProgress.SYMPTOMS, "therapist", False, SYMPTOM_CONSTRUCTS),
        (
            ClientProgress.SYMPTOMS_AND_RELATIONSHIP,
            "therapist",
            False,
            SYMPTOM_CONSTRUCTS | RELATIONSHIP_CONSTRUCTS,
        ),
        # Told only supervisors read them: never on a screen the therapist looks at.
        (ClientProgress.SYMPTOMS_AND_RELATIONSHIP, "supervisors", False, SYMPTOM_CONSTRUCTS),
        (ClientProgress.SYMPTOMS_AND_RELATIONSHIP, "therapist", True, frozenset()),
    ],
)
def test_what_a_client_may_see_of_their_own_results(clinics, setting, audience, hidden, expected):
    organisation = Organisation(client_progress=setting, trust_answers_audience=audience)
    clinics.owner_client.progress_hidden = hidden
    assert client_progress_constructs(organisation, clinics.owner_client) == expected


def test_progress_is_off_by_default(clinics, issued, client):
    assert Organisation().client_progress == ClientProgress.OFF
    page = submit(client, issued)
    assert SEE_PROGRESS["en"] not in page
    assert client.get(progress_url(issued)).status_code == 410


# --- after a check-in -----------------------------------------------------------------


@pytest.mark.parametrize("language", ["en", "es"])
def test_the_client_sees_their_progress_right_after_the_check_in(clinics, issued, client, language):
    turn_on(clinics)
    page = submit(client, issued, language)
    assert SEE_PROGRESS[language] in page
    response = client.get(progress_url(issued))
    body = html.unescape(response.content.decode())
    assert response.status_code == 200 and f'<html lang="{language}">' in body
    assert "no-store" in response["Cache-Control"]
    phq9 = instruments()["phq9"]
    assert phq9.title[language] in body
    # The band of the total just sent (0: minimal), named in the client's language.
    assert phq9.bands[0].text[language] in body
    assert instruments()["rapport_trust"].title[language] in body
    assert '<img src="data:image/svg+xml;base64,' in body and "<table>" in body
    assert clinics.owner_client.record_number not in body


def test_symptoms_only_leaves_trust_and_alliance_out(clinics, issued, client):
    turn_on(clinics, ClientProgress.SYMPTOMS)
    submit(client, issued)
    body = html.unescape(client.get(progress_url(issued)).content.decode())
    assert instruments()["phq9"].title["en"] in body
    assert instruments()["rapport_trust"].title["en"] not in body
    assert instruments()["rapport_alliance"].title["en"] not in body
    assert "from the symptom questionnaires" in body


def test_supervisors_only_answers_never_appear(clinics, issued, client):
    turn_on(clinics, audience=TrustAnswersAudience.SUPERVISORS)
    submit(client, issued)
    body = html.unescape(client.get(progress_url(issued)).content.decode())
    assert instruments()["phq9"].title["en"] in body
    assert instruments()["rapport_trust"].title["en"] not in body


def test_another_browser_with_the_same_link_gets_the_closed_page(clinics, issued, client):
    turn_on(clinics)
    submit(client, issued)
    elsewhere = Client()
    assert elsewhere.get(progress_url(issued)).status_code == 410
    assert client.get(progress_url(issued)).status_code == 200


def test_the_view_closes_after_its_window(clinics, issued, client):
    turn_on(clinics)
    submit(client, issued)
    used = timezone.now() - progress_link.WINDOW - datetime.timedelta(seconds=1)
    CheckinLink.objects.filter(pk=issued.link.pk).update(used_at=used)
    assert client.get(progress_url(issued)).status_code == 410


def test_an_open_link_and_a_guessed_token_show_nothing(clinics, issued, client):
    turn_on(clinics)
    assert client.get(progress_url(issued)).status_code == 410  # not sent yet
    guessed = reverse("checkin-progress", kwargs={"token": "A" * 43})
    assert client.get(guessed).status_code == 410


def test_the_therapist_turning_it_off_closes_it_at_once(clinics, issued, client):
    turn_on(clinics)
    submit(client, issued)
    staff = Client()
    login_verified(staff, clinics.owner)
    url = reverse("checkin-progress-visibility", args=[clinics.owner_client.public_id])
    assert staff.post(url, {}).status_code == 302
    clinics.owner_client.refresh_from_db()
    assert clinics.owner_client.progress_hidden
    assert client.get(progress_url(issued)).status_code == 410
    assert AuditEvent.objects.filter(action="client.progress_hidden").count() == 1


def test_only_the_links_own_episode_is_shown(clinics, client):
    """Scores of the client's earlier episode and of another client never appear."""
    turn_on(clinics)
    phq9 = instruments()["phq9"]
    earlier = Episode.objects.create(
        client=clinics.owner_client,
        therapist=clinics.owner,
        plan=clinics.owner_episode.plan,
        started_on=datetime.date(2025, 1, 6),
        ended_on=datetime.date(2025, 6, 2),
        status=EpisodeStatus.CLOSED,
        end_reason=EndReason.COMPLETED,
    )
    add_answers(add_session(earlier, 1), phq9, {item.id: 3 for item in phq9.items})  # 27
    other = make_episode(clinics.colleague, sessions=0)
    add_answers(add_session(other, 1), phq9, {item.id: 2 for item in phq9.items})  # 18
    issued = issue_checkin_link(clinics.owner_episode)
    submit(client, issued)
    body = client.get(progress_url(issued)).content.decode()
    assert "<td>0</td>" in body  # the PHQ-9 total just sent
    assert "<td>27</td>" not in body and "<td>18</td>" not in body
    assert phq9.bands[-1].text["en"] not in body.split("Scores from")[0]


# --- review together ------------------------------------------------------------------


def start_review(clinics, staff=None):
    staff = staff or Client()
    login_verified(staff, clinics.owner)
    url = reverse("checkin-review-start", args=[clinics.owner_client.public_id])
    return staff, staff.post(url)


def test_review_together_hands_the_device_over(clinics, client):
    turn_on(clinics)
    trust = instruments()["rapport_trust"]
    low = {item.id: item.options[0].value for item in trust.items}
    high = {item.id: item.options[-1].value for item in trust.items}
    add_answers(clinics.owner_episode.sessions.get(number=2), trust, low)
    add_answers(add_session(clinics.owner_episode, 3), trust, high)
    staff, response = start_review(clinics)
    assert response.status_code == 302 and response.url == reverse("checkin-review")
    page = staff.get(reverse("checkin-review"))
    body = html.unescape(page.content.decode())
    assert page.status_code == 200
    assert trust.items[0].text["en"] in body and "Went up from" in body
    assert "Questions to talk about together" in body
    # No staff session is left: every staff page, and every other client, asks for sign-in.
    for url in (
        reverse("client-detail", args=[clinics.owner_client.public_id]),
        reverse("home"),
    ):
        assert staff.get(url).url.startswith(reverse("login"))
    assert AuditEvent.objects.filter(action="checkin.review_start").count() == 1


def test_review_shows_only_the_clients_own_screen_without_staff_links(clinics):
    turn_on(clinics)
    staff, _ = start_review(clinics)
    body = staff.get(reverse("checkin-review")).content.decode()
    hrefs = {part.split('"')[0] for part in body.split('href="')[1:]}
    allowed = {"?lang=en", "?lang=es", "#main", reverse("checkin-kiosk-exit")}
    assert {h for h in hrefs if not h.startswith("/static/")} <= allowed


def test_leaving_the_review_needs_the_staff_sign_in(clinics):
    turn_on(clinics)
    staff, _ = start_review(clinics)
    exit_url = reverse("checkin-kiosk-exit")
    assert staff.get(exit_url).url.startswith(reverse("login"))
    marked = staff.session[review.SESSION_KEY]
    login_verified(staff, clinics.owner)
    session = staff.session
    session[review.SESSION_KEY] = marked
    session.save()
    assert b"review together" in staff.get(exit_url).content
    assert staff.post(exit_url).status_code == 302
    assert review.SESSION_KEY not in staff.session
    assert AuditEvent.objects.filter(action="checkin.review_exit").count() == 1
    assert staff.get(reverse("checkin-review")).url == reverse("checkin-kiosk-locked")


def test_a_review_ends_by_itself(clinics, monkeypatch):
    turn_on(clinics)
    staff, _ = start_review(clinics)
    monkeypatch.setattr(review, "LIFETIME", datetime.timedelta(0))
    session = staff.session
    episode_id = session[review.SESSION_KEY].split("|")[0]
    session[review.SESSION_KEY] = f"{episode_id}|{timezone.now().isoformat()}"
    session.save()
    assert staff.get(reverse("checkin-review")).url == reverse("checkin-kiosk-locked")


def test_review_is_refused_where_the_client_is_not_shown_progress(clinics):
    staff, response = start_review(clinics)  # the clinic left it off
    assert response.url == reverse("client-detail", args=[clinics.owner_client.public_id])
    assert review.SESSION_KEY not in staff.session
    assert staff.get(reverse("home")).status_code == 200  # still signed in


def test_a_colleague_cannot_review_someone_elses_client(clinics):
    turn_on(clinics)
    staff = Client()
    login_verified(staff, clinics.colleague)
    url = reverse("checkin-review-start", args=[clinics.owner_client.public_id])
    assert staff.post(url).status_code == 404
    assert review.SESSION_KEY not in staff.session


# --- the clinic's setting ---------------------------------------------------------------


def test_the_clinic_turns_progress_on_from_the_command_line(clinics):
    from django.core.management import call_command

    call_command("clinic", "progress", clinics.organisation.slug, "symptoms")
    clinics.organisation.refresh_from_db()
    assert clinics.organisation.client_progress == ClientProgress.SYMPTOMS
    assert AuditEvent.objects.filter(action="organisation.client_progress_change").count() == 1


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("audience", TrustAnswersAudience.values)
def test_the_progress_page_says_what_the_clinics_audience_setting_does(
    clinics, issued, client, language, audience
):
    """Point 4: the sentence on who sees the results matches what the page shows."""
    from django.utils import translation

    from rapport.checkin.audience import progress_statement

    turn_on(clinics, audience=audience)
    submit(client, issued, language)
    body = html.unescape(client.get(progress_url(issued)).content.decode())
    shows_trust = instruments()["rapport_trust"].title[language] in body
    assert shows_trust is (audience == TrustAnswersAudience.THERAPIST)
    with translation.override(language):
        expected = progress_statement(shows_relationship=shows_trust)
    assert f'<p class="ck-audience">{expected}</p>' in body
