"""The pre-session brief says what the data shows, puts safety first and cites its sources."""

import pytest
from django.urls import reverse

from rapport.checkin.models import Alert, AlertKind
from rapport.testing import (
    add_score,
    add_session,
    login_verified,
    make_episode,
    make_organisation,
    make_user,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def therapist():
    supervisor = make_user(make_organisation(), "supervisor")
    return make_user(supervisor.organisation, supervisor=supervisor)


def brief_of(client, therapist, episode) -> str:
    login_verified(client, therapist)
    response = client.get(reverse("episode-brief", args=[episode.public_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_low_trust_is_called_low_not_a_fall(client, therapist, trajectory):
    episode = trajectory(therapist, "R-LOW", trust=[4, 4])
    page = brief_of(client, therapist, episode)
    assert "Talking about the relationship" in page
    assert "Trust is low: 4 of 7 at session 2." in page
    assert "fell" not in page


def test_falling_trust_says_from_what_to_what(client, therapist, trajectory):
    episode = trajectory(therapist, "R-FELL", trust=[6, 5])
    page = brief_of(client, therapist, episode)
    assert "Trust fell from 6 to 5 of 7 between sessions 1 and 2." in page
    assert "is low" not in page


def test_the_alliance_low_falling_or_below_its_recent_level(client, therapist, trajectory):
    low = trajectory(therapist, "R-A-LOW", alliance=[24, 25])
    assert "The alliance is low: 25 of 40 at session 2." in brief_of(client, therapist, low)
    fell = trajectory(therapist, "R-A-FELL", alliance=[36, 36, 22])
    page = brief_of(client, therapist, fell)
    assert "The alliance fell from 36 to 22 of 40 between sessions 2 and 3." in page
    # Up from the last score but far below the recent level: neither "fell" nor "low".
    below = trajectory(therapist, "R-A-BELOW", alliance=[40, 40, 28, 30])
    page = brief_of(client, therapist, below)
    assert "The alliance is 30 of 40 at session 4, below its recent level of 36." in page
    assert "fell from 28" not in page


def test_sources_are_readable_references_in_the_page(client, therapist, trajectory):
    episode = trajectory(therapist, "R-SRC", trust=[6, 4])
    page = brief_of(client, therapist, episode)
    assert "docs/brief.md" not in page
    assert "Sources" in page
    assert (
        "Safran, J. D., &amp; Muran, J. C. (2000). Negotiating the therapeutic alliance: "
        "A relational treatment guide. New York: Guilford Press." in page
    )
    # Only the sources the page cites: no safety guidance, so no safety-planning source.
    assert "Stanley" not in page


def test_safety_guidance_comes_first_for_an_open_safety_flag(client, therapist, trajectory):
    episode = trajectory(therapist, "R-SAFE", trust=[6, 4], phq9=[12, 13], unsafe_at=2)
    page = brief_of(client, therapist, episode)
    safety = page.index("Safety first")
    assert safety < page.index("What changed since the last check-in")
    assert safety < page.index("Talking about the relationship")
    assert page.index("PHQ-9 item 9 answered") < page.index("Other open flags")
    assert "Review the answer with the client early in the session" in page
    assert "Follow your clinic's risk protocol" in page.replace("&#x27;", "'")
    assert "update the client's safety plan" in page.replace("&#x27;", "'")
    assert "Stanley, B., &amp; Brown, G. K. (2012). Safety Planning Intervention" in page


def test_safety_guidance_stays_while_an_acknowledged_risk_is_still_endorsed(
    client, therapist, trajectory
):
    episode = trajectory(therapist, "R-MARKED", phq9=[12, 13], unsafe_at=2)
    Alert.objects.create(
        organisation=therapist.organisation,
        kind=AlertKind.CRITICAL_ITEM,
        client=episode.client,
        episode=episode,
        session=episode.sessions.get(number=2),
        code="critical:phq9_9",
        acknowledged_at="2026-02-01T10:00Z",
        acknowledged_by=therapist,
        contact_method="phone",
        risk_outcome="risk_present_plan_reviewed",
    )
    page = brief_of(client, therapist, episode)
    assert "Safety first" in page
    assert "Risk reviewed on 1 Feb 2026" in page


def test_no_safety_section_without_a_risk(client, therapist, trajectory):
    episode = trajectory(therapist, "R-CALM", trust=[6, 6], phq9=[8, 6])
    page = brief_of(client, therapist, episode)
    assert "Safety first" not in page and "Sources" not in page


def test_a_change_adds_up_with_the_scores_as_shown(client, therapist):
    # 5.75 and 4.14 show as 5.8 and 4.1: the change reads 1.7, not the unrounded 1.61.
    episode = make_episode(therapist, record_number="R-ROUND")
    for number, total in ((1, 5.75), (2, 4.14)):
        add_score(add_session(episode, number), "rapport_trust", total)
    page = brief_of(client, therapist, episode)
    assert "5.8 at session 1 \u2192 4.1 at session 2 (down 1.7, worse)." in page
    assert "Trust fell from 5.8 to 4.1 of 7 between sessions 1 and 2." in page
