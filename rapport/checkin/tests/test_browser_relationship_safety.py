"""A client who did not feel safe with their therapist, end to end in a real browser.

The client checks in on a phone in their own language and answers "I felt safe with my
therapist in the last session" with "Strongly disagree". The thank-you page tells them,
wholly in their language, that a clinical supervisor will get in touch (not the crisis lines,
which are about self-harm); the supervisor is e-mailed at once, without the client's
name or answers, and the therapist is not. The therapist's pages show either the flag
with who follows it up (a clinic whose therapists read trust answers) or nothing at all
(a clinic that keeps them for supervisors). The supervisor, reading Rapport in the same
language, records the follow-up with the outcomes that fit, and the fallback contact is
never told. Every page is checked with axe-core. Needs what the other browser tests need
(rapport/browser_testing.py).
"""

from __future__ import annotations

import datetime

import pytest
from django.utils import translation

from rapport.browser_testing import PHONE, check_accessibility, require_browser_tools
from rapport.browser_testing import sign_in as sign_in_with_app
from rapport.checkin import delivery
from rapport.checkin.models import (
    Alert,
    ContactMethod,
    RiskOutcome,
    SafetyNotice,
)
from rapport.checkin.tests.helpers import SUPERVISOR_EMAIL, open_client_page
from rapport.checkin.tests.test_browser import answer_screen
from rapport.checkin.tests.test_browser import check_accessibility as check_client_page
from rapport.clinic.models import ClientDemographics, TrustAnswersAudience
from rapport.core.instruments import instruments
from rapport.testing import issue_checkin_link

DESKTOP = {"width": 1366, "height": 900}
RELATIONSHIP_OUTCOMES = (
    RiskOutcome.RELATIONSHIP_NO_CONCERN,
    RiskOutcome.RELATIONSHIP_CHANGE_AGREED,
    RiskOutcome.RELATIONSHIP_PROCEDURE,
)
NOTE = "Phoned the client; they will see another therapist from next week."

CLIENT_WORDS = {
    "es": {
        "next": "Siguiente",
        "send": "Enviar mis respuestas",
        "thanks": "Gracias",
        "heading": "Alguien hará el seguimiento con usted",
        "body": "Gracias por decírnoslo. Una de sus respuestas sobre su terapia se ha "
        "comunicado a un supervisor clínico de la clínica, que se pondrá en contacto con "
        "usted al respecto.",
    },
    "en": {
        "next": "Next",
        "send": "Send my answers",
        "thanks": "Thank you",
        "heading": "Someone will follow this up with you",
        "body": "Thank you for telling us. One of your answers about your therapy has been "
        "passed to a clinical supervisor at the clinic, who will get in touch with you about "
        "it.",
    },
}
STAFF_WORDS = {
    "es": {"caseload": "Casos", "acknowledge": "Atender", "done": "Alerta atendida"},
    "en": {"caseload": "Caseload", "acknowledge": "Acknowledge", "done": "Alert acknowledged"},
}

WITHHELD = (
    "How it was followed up is kept for the therapist\N{RIGHT SINGLE QUOTATION MARK}s supervisors."
)


def in_language(language: str, message: str) -> str:
    """``message`` as Rapport shows it in ``language``; a Spanish page must not show
    the English words."""
    with translation.override(language):
        translated = translation.gettext(message)
    if language != "en" and translated == message:
        raise AssertionError(f"no {language} translation of {message!r}")
    return translated


require_browser_tools()
pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("plain_http_cookies")]


def check_in_feeling_unsafe(new_page, live_server, episode, words: dict):
    """Every answer at the scale's top, except "I felt safe with my therapist in the last session":
    "Strongly disagree"; returns the thank-you page."""
    issued = issue_checkin_link(episode)
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(live_server.url + issued.path)
    for screen in range(3):
        check_client_page(page)
        phq9 = "PHQ-9" in page.title()
        answer_screen(page, 0 if phq9 else -1)
        if screen == 0:
            first_item = page.locator("fieldset.ck-item").first
            assert (
                instruments()["rapport_trust"]
                .item("trust_safe")
                .text[page.locator("html").get_attribute("lang")]
                in first_item.inner_text()
            )
            first_item.locator("label.ck-option, .ck-point label").first.click()
        page.get_by_role("button", name=words["next"]).click()
        page.wait_for_load_state()
    check_client_page(page)
    page.get_by_role("button", name=words["send"]).click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == words["thanks"]
    check_client_page(page)
    return page


@pytest.mark.parametrize(
    ("language", "audience"),
    [
        ("es", TrustAnswersAudience.SUPERVISORS),
        ("en", TrustAnswersAudience.THERAPIST),
        ("es", TrustAnswersAudience.THERAPIST),
    ],
)
def test_the_supervisor_follows_up_a_client_who_felt_unsafe_with_their_therapist(
    new_page, live_server, reachable_live_clinic, mailoutbox, language, audience
):
    clinic = reachable_live_clinic
    words, staff = CLIENT_WORDS[language], STAFF_WORDS[language]
    clinic.organisation.trust_answers_audience = audience
    clinic.organisation.save(update_fields=["trust_answers_audience"])
    client, identity = clinic.owner_client, clinic.owner_client.identity
    ClientDemographics.objects.create(client=client, preferred_language=language)
    for person in (clinic.owner, clinic.supervisor):
        person.language = language
        person.save(update_fields=["language"])

    # 1. The client is told, in their language, that a supervisor will get in touch.
    thanks = check_in_feeling_unsafe(new_page, live_server, clinic.owner_episode, words)
    assert thanks.locator("html").get_attribute("lang") == language
    box = thanks.locator(".ck-followup")
    assert box.locator("h2").inner_text() == words["heading"]
    assert box.locator("p").inner_text() == words["body"]
    assert thanks.locator(".ck-crisis").count() == 0
    other = CLIENT_WORDS["en" if language == "es" else "es"]
    assert other["body"] not in thanks.locator("main").inner_text()

    # 2. The supervisor is e-mailed at once; the therapist is not; no name, no answer.
    alert = Alert.objects.get(client=client)
    assert [message.to for message in mailoutbox] == [[SUPERVISOR_EMAIL]]
    text = mailoutbox[0].subject + "\n" + mailoutbox[0].body
    assert client.record_number in text
    item = instruments()["rapport_trust"].item("trust_safe")
    private = [identity.given_name, identity.family_name, *item.text.values()]
    private += [label for option in item.options for label in option.label.values()]
    assert not [word for word in private if word in text]

    # 3. The therapist: the flag and who follows it up, or nothing where the clinic keeps
    #    trust answers for supervisors.
    therapist = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in_with_app(therapist, live_server.url, clinic.owner)
    therapist.goto(live_server.url + "/")
    therapist.wait_for_selector(f"h1:has-text('{staff['caseload']}')")
    check_accessibility(therapist)
    row = therapist.locator("table.caseload tbody tr", has_text=client.record_number)
    unsafe_flag = row.locator("li.flag-safety")
    assert unsafe_flag.count() == (0 if audience == TrustAnswersAudience.SUPERVISORS else 1)
    open_client_page(therapist, live_server.url, client)
    if audience == TrustAnswersAudience.SUPERVISORS:
        assert therapist.locator(".flag-safety").count() == 0
        assert therapist.locator("form.acknowledge input[name=risk_outcome]").count() == 0
    else:
        flag = therapist.locator("li.flag-safety").first
        assert item.text[language] in flag.inner_text()
        with translation.override(language):
            line = translation.gettext(
                "The therapist\N{RIGHT SINGLE QUOTATION MARK}s supervisor follows up answers about "
                "the relationship with "
                "the therapist, and records what was done."
            )
        assert line in flag.inner_text()
        assert flag.locator("input[name=risk_outcome]").count() == 0

    # 4. The supervisor records the follow-up with the outcomes that fit.
    page = new_page(viewport=DESKTOP)
    sign_in_with_app(page, live_server.url, clinic.supervisor)
    open_client_page(page, live_server.url, client)
    form = page.locator("form.acknowledge").first
    with translation.override(language):
        by_phone = str(ContactMethod.PHONE.label)
        offered = [str(RiskOutcome(value).label) for value in RELATIONSHIP_OUTCOMES]
        self_harm = str(RiskOutcome.RISK_PRESENT_PLAN_REVIEWED.label)
    labels = form.locator("label.choice").all_inner_texts()
    assert [label.strip() for label in labels][-3:] == offered
    assert self_harm not in " ".join(labels)
    form.get_by_label(by_phone).check()
    form.get_by_label(offered[1]).check()
    note_label = in_language(language, "Note (optional; read by supervisors, not by the therapist)")
    form.get_by_label(note_label).fill(NOTE)
    form.get_by_role("button", name=staff["acknowledge"]).click()
    page.wait_for_selector(f"text={staff['done']}")
    check_accessibility(page)
    alert.refresh_from_db()
    assert alert.acknowledged_by == clinic.supervisor
    assert (alert.contact_method, alert.risk_outcome) == (
        ContactMethod.PHONE,
        RiskOutcome.RELATIONSHIP_CHANGE_AGREED,
    )
    assert offered[1] in page.locator("main").inner_text()

    # 5. The therapist reads that it was followed up, by whom and when, but not how.
    if audience == TrustAnswersAudience.THERAPIST:
        open_client_page(therapist, live_server.url, client)
        check_accessibility(therapist)
        flag = therapist.locator("li.flag-safety.flag-acknowledged").inner_text()
        followed = in_language(language, "Followed up by %(who)s on %(when)s")
        assert followed.split("%(when)s")[0] % {"who": clinic.supervisor} in flag
        assert in_language(language, WITHHELD) in flag
        shown = therapist.locator("main").inner_text()
        assert NOTE not in shown and offered[1] not in shown and by_phone not in shown

    # 6. Acknowledged: hours later the fallback contact still hears nothing.
    delivery.send_due(alert.raised_at + datetime.timedelta(hours=10))
    assert [message.to for message in mailoutbox] == [[SUPERVISOR_EMAIL]]
    assert (
        not SafetyNotice.objects.filter(alert=alert).exclude(recipient=clinic.supervisor).exists()
    )
