"""The client's form: screens, no-JavaScript "Next", autosave, errors, languages, comment."""

from __future__ import annotations

import pytest
from django.db import connection

from rapport.checkin.models import Alert, CheckinDraft, CheckinSubmission
from rapport.checkin.tests.helpers import full_answers
from rapport.clinic.models import AdministrationStatus, TrustAnswersAudience

pytestmark = pytest.mark.django_db


def test_one_questionnaire_per_screen_with_progress(client, issued):
    first = client.get(issued.path).content.decode()
    assert "Step 1 of 4" in first and "Trust &amp; Respect check-in" in first
    assert "Who sees these answers" in first
    phq9_screen = client.get(f"{issued.path}?screen=2").content.decode()
    # Nine symptoms plus the unscored functioning question, which may be left blank.
    assert phq9_screen.count("<fieldset") == 10
    assert "If you checked off any problems, how difficult have these problems made it" in (
        phq9_screen
    )
    final = client.get(f"{issued.path}?screen=3").content.decode()
    assert "Is there anything that would make our sessions work better for you?" in final


def test_next_saves_the_screen_and_moves_on(client, issued):
    response = client.post(
        issued.path, {"screen": "0", "action": "next", "rapport_trust.trust_safe": "6"}
    )
    assert response.status_code == 302 and "screen=1" in response.url
    draft = CheckinDraft.objects.get(link=issued.link)
    assert draft.answers == {"rapport_trust": {"trust_safe": 6}}
    statuses = set(issued.link.session.administrations.values_list("status", flat=True))
    assert statuses == {AdministrationStatus.IN_PROGRESS}
    # Coming back later resumes on the saved screen with the saved answer.
    page = client.get(issued.path).content.decode()
    assert "Step 2 of 4" in page


def test_resume_shows_saved_answers_checked(client, issued):
    client.post(f"{issued.path}draft/", {"rapport_trust.trust_safe": "6", "screen": "0"})
    page = client.get(f"{issued.path}?screen=0").content.decode()
    assert 'name="rapport_trust.trust_safe" value="6" checked' in page


def test_required_items_are_asked_for(client, issued):
    response = client.post(issued.path, {"screen": "2", "action": "next", "phq9.phq9_1": "1"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Please answer these questions" in page
    assert page.count('class="ck-error"') == 8  # items 2..9 of the PHQ-9


def test_back_does_not_require_answers(client, issued):
    response = client.post(issued.path, {"screen": "2", "action": "back"})
    assert response.status_code == 302 and "screen=1" in response.url


def test_a_value_no_form_offers_is_refused(client, issued):
    assert client.post(f"{issued.path}draft/", {"phq9.phq9_1": "7"}).status_code == 400
    assert client.post(issued.path, {"screen": "2", "phq9.phq9_1": "x"}).status_code == 400
    assert not CheckinDraft.objects.exists()


def test_unknown_fields_change_nothing(client, issued):
    data = {**full_answers(), "session": "999", "status": "expired", "phq9.phq9_99": "3"}
    assert client.post(f"{issued.path}submit/", data).status_code == 200
    assert issued.link.session.administrations.filter(status="completed").count() == 3


def test_incomplete_submission_returns_to_the_first_gap(client, issued):
    data = full_answers()
    del data["phq9.phq9_4"]
    response = client.post(f"{issued.path}submit/", data)
    assert response.status_code == 200
    assert "Step 3 of 4" in response.content.decode()
    assert not CheckinSubmission.objects.exists()
    # What was sent is kept in the draft.
    assert CheckinDraft.objects.get().answers["phq9"]["phq9_1"] == 0


def test_submit_merges_the_draft(client, issued):
    data = full_answers()
    trust = {k: v for k, v in data.items() if k.startswith("rapport_trust.")}
    client.post(f"{issued.path}draft/", trust)
    rest = {k: v for k, v in data.items() if not k.startswith("rapport_trust.")}
    assert client.post(f"{issued.path}submit/", rest).status_code == 200
    trust_row = issued.link.session.administrations.get(instrument_id="rapport_trust")
    assert len(trust_row.answers) == 8
    assert not CheckinDraft.objects.exists()


def test_skippable_items_may_stay_empty(client, issued):
    data = {k: v for k, v in full_answers().items() if not k.startswith("rapport_trust.")}
    data["rapport_trust.trust_safe"] = "7"
    assert client.post(f"{issued.path}submit/", data).status_code == 200
    trust_row = issued.link.session.administrations.get(instrument_id="rapport_trust")
    assert trust_row.status == "completed" and trust_row.total is None  # too many missing


def test_spanish_interface_and_items(client, issued):
    page = client.get(f"{issued.path}?lang=es").content.decode()
    assert '<html lang="es">' in page
    assert "Paso 1 de 4" in page
    assert "En la última sesión me sentí seguro(a) con mi terapeuta." in page
    assert "Totalmente de acuerdo" in page
    assert "Siguiente" in page
    # The choice sticks through a saved draft.
    client.post(issued.path, {"screen": "0", "action": "next", "lang": "es"})
    assert "Paso 2 de 4" in client.get(issued.path).content.decode()


def test_comment_is_stored_encrypted(client, issued):
    data = {**full_answers(), "comment": "More time for homework please"}
    assert client.post(f"{issued.path}submit/", data).status_code == 200
    assert CheckinSubmission.objects.get().comment == "More time for homework please"
    with connection.cursor() as cursor:
        cursor.execute("SELECT comment FROM checkin_checkinsubmission")
        (stored,) = cursor.fetchone()
    assert "homework" not in stored and stored.startswith("rf1:")


def test_supervisors_only_audience_is_stated(client, clinics, issued):
    clinics.organisation.trust_answers_audience = TrustAnswersAudience.SUPERVISORS
    clinics.organisation.save()
    page = client.get(issued.path).content.decode()
    assert "your therapist will not see your individual answers" in page


def test_critical_answer_shows_crisis_resources_and_alerts(client, clinics, issued):
    response = client.post(f"{issued.path}submit/", full_answers(phq9_item9=1))
    page = response.content.decode()
    assert "If you are having thoughts of death or of hurting yourself" in page
    assert "988" in page and "call 911" in page
    alert = Alert.objects.get()
    assert alert.kind == "critical_item" and alert.code == "critical:phq9_9"
    assert alert.client == clinics.owner_client and alert.acknowledged_at is None


def test_no_crisis_block_without_a_critical_answer(client, issued):
    page = client.post(f"{issued.path}submit/", full_answers()).content.decode()
    assert "hurting yourself" not in page
    assert not Alert.objects.exists()


def test_clinic_crisis_resources_replace_the_defaults(client, clinics, issued):
    from rapport.checkin.models import CheckinSettings

    CheckinSettings.objects.create(
        organisation=clinics.organisation,
        crisis_resources={"en": "Call the clinic duty line: 555-0100 (demo)"},
    )
    page = client.post(f"{issued.path}submit/", full_answers(phq9_item9=2)).content.decode()
    assert "555-0100" in page and "988" not in page


def test_submission_is_audited_without_health_data(client, issued):
    from rapport.security.models import AuditEvent

    client.post(f"{issued.path}submit/", full_answers(phq9_item9=2))
    event = AuditEvent.objects.get(action="checkin.submit")
    assert event.object_id == str(issued.link.public_id)
    assert event.detail == {"count": 3, "via": "cli"}
    assert AuditEvent.objects.filter(action="alert.raise").count() == 1


def test_robots_txt_disallows_links(client):
    assert "Disallow: /q/" in client.get("/robots.txt").content.decode()


def test_the_functioning_question_may_be_left_blank_and_is_never_scored(client, issued):
    data = full_answers()
    del data["phq9.phq9_difficulty"]

    assert client.post(f"{issued.path}submit/", data).status_code == 200

    phq9 = issued.link.session.administrations.get(instrument_id="phq9")
    assert phq9.instrument_version == "2"
    assert (phq9.total, phq9.missing, phq9.flags) == (0, [], [])
    assert phq9.total_is_estimated is False
    assert "phq9_difficulty" not in phq9.answers


def test_a_zero_to_ten_question_is_one_scale_with_its_anchors_read_with_it(client, issued):
    page = client.get(f"{issued.path}?screen=1&lang=es").content.decode()
    assert page.count('class="ck-scale"') == 4  # the four Session Alliance questions
    assert page.count('class="ck-option"') == 0
    # Eleven radios named by their numbers, the end words described in the question's language.
    assert 'aria-describedby="alliance_bond-anchors"' in page
    assert '<label for="alliance_bond-10">10</label>' in page
    assert "0: Nada conectado(a)" in page and "10: Muy conectado(a)" in page
    # Word options (the Trust & Respect agreement scale) stay a list.
    trust = client.get(f"{issued.path}?screen=0").content.decode()
    assert "ck-scale" not in trust and 'class="ck-option"' in trust
