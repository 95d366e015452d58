"""Safety plans: who reads and writes them, encryption at rest, audit, brief, print."""

from __future__ import annotations

import datetime
import threading

import pytest
from django.db import connection
from django.urls import reverse

from rapport.clinic.models import EpisodeStatus
from rapport.safety_plans.models import SafetyPlan, SafetyPlanContact
from rapport.security.models import AuditEvent
from rapport.testing import login_verified, run_in_threads, set_demographics

pytestmark = pytest.mark.django_db

PLAN = {
    "language": "es",
    "reviewed_on": "2026-11-20",
    "warning_signs": "No duermo\n\n  Me aíslo de todos  \nPienso que soy una carga",
    "coping_steps": "Salir a caminar",
    "distractions": "Café con mi hermana",
    "professional_contacts": "Clínica: 555 0100",
    "safer_surroundings": "Mi hermana guarda los medicamentos",
    "contacts-TOTAL_FORMS": "3",
    "contacts-INITIAL_FORMS": "0",
    "contacts-MIN_NUM_FORMS": "0",
    "contacts-MAX_NUM_FORMS": "8",
    "contacts-0-name": "Ana (hermana)",
    "contacts-0-phone": "+1 555 0142",
    "contacts-1-name": "",
    "contacts-1-phone": "",
    "contacts-2-name": "Luis",
    "contacts-2-phone": "(555) 0177",
}


def plan_url(clinics, name: str = "episode-safety-plan") -> str:
    return reverse(name, args=[clinics.owner_episode.public_id])


@pytest.fixture
def owner(client, clinics):
    login_verified(client, clinics.owner)
    return client


@pytest.fixture
def written(owner, clinics) -> SafetyPlan:
    response = owner.post(plan_url(clinics), PLAN)
    assert response.status_code == 302, response.content.decode()[:2000]
    return SafetyPlan.objects.get(episode=clinics.owner_episode)


# --- who may do what --------------------------------------------------------------------


def test_the_treating_therapist_writes_the_plan(written, clinics):
    assert written.language == "es"
    assert written.reviewed_on == datetime.date(2026, 11, 20)
    assert written.lines("warning_signs") == [
        "No duermo",
        "Me aíslo de todos",
        "Pienso que soy una carga",
    ]
    assert written.updated_by == clinics.owner
    people = [(c.position, c.name, c.phone) for c in written.contacts.all()]
    assert people == [(1, "Ana (hermana)", "+1 555 0142"), (2, "Luis", "(555) 0177")]


def test_the_supervisor_reads_the_plan_but_cannot_change_it(written, client, clinics):
    login_verified(client, clinics.supervisor)
    page = client.get(plan_url(clinics)).content.decode()
    assert "Me aíslo de todos" in page and "Ana (hermana)" in page
    assert '<form method="post" class="safety-plan"' not in page
    changed = {**PLAN, "coping_steps": "Otra cosa"}
    assert client.post(plan_url(clinics), changed).status_code == 403
    written.refresh_from_db()
    assert written.coping_steps == "Salir a caminar"


@pytest.mark.parametrize(
    ("persona", "status"),
    [("colleague", 404), ("outsider", 404), ("clinic_admin", 403), ("researcher", 403)],
)
def test_others_neither_read_nor_write_nor_print(written, client, clinics, persona, status):
    login_verified(client, clinics.staff[persona])
    assert client.get(plan_url(clinics)).status_code == status
    assert client.get(plan_url(clinics, "episode-safety-plan-print")).status_code == status
    assert client.post(plan_url(clinics), {**PLAN, "coping_steps": "x"}).status_code == status
    written.refresh_from_db()
    assert written.coping_steps == "Salir a caminar"


def test_a_closed_episodes_plan_is_read_only(written, owner, clinics):
    episode = clinics.owner_episode
    episode.status, episode.ended_on, episode.end_reason = (
        EpisodeStatus.CLOSED,
        episode.started_on,
        "completed",
    )
    episode.save()
    page = owner.get(plan_url(clinics)).content.decode()
    assert "Me aíslo de todos" in page and 'class="safety-plan"' not in page
    assert owner.post(plan_url(clinics), PLAN).status_code == 404


# --- editing ------------------------------------------------------------------------


def test_a_new_plan_starts_in_the_clients_language_reviewed_today(owner, clinics):
    set_demographics(clinics.owner_client, language="es")
    page = owner.get(plan_url(clinics)).content.decode()
    assert '<option value="es" selected>' in page
    assert datetime.date.today().isoformat() in page


def test_an_update_replaces_the_people_and_is_audited_by_field_name(written, owner, clinics):
    changed = {
        **PLAN,
        "coping_steps": "Respirar despacio",
        "contacts-INITIAL_FORMS": "2",
        "contacts-2-name": "",
        "contacts-2-phone": "",
    }
    assert owner.post(plan_url(clinics), changed).status_code == 302
    written.refresh_from_db()
    assert written.coping_steps == "Respirar despacio"
    assert [c.name for c in written.contacts.all()] == ["Ana (hermana)"]
    event = AuditEvent.objects.filter(action="safety_plan.update").get()
    assert event.detail == {"fields": ["contacts", "coping_steps"], "count": 1}


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"contacts-0-name": ""}, "Add the name of the person with this number."),
        ({"contacts-0-phone": "call her"}, "Enter a phone number"),
        ({"reviewed_on": ""}, "This field is required."),
        ({"reviewed_on": "2999-01-01"}, "The review date cannot be in the future."),
        ({"language": "fr"}, "Select a valid choice."),
        ({"warning_signs": "x" * 2001}, "at most 2000 characters"),
    ],
)
def test_bad_input_is_refused_with_a_clear_error(owner, clinics, change, error):
    response = owner.post(plan_url(clinics), {**PLAN, **change})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not SafetyPlan.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="safety_plan.create").exists()


# --- encryption and audit -------------------------------------------------------------


def raw_values(table: str, columns: list[str]) -> list[str]:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(map(quote, columns))} FROM {quote(table)}")  # noqa: S608
        return [value for row in cursor.fetchall() for value in row]


def test_what_is_written_is_encrypted_at_rest(written):
    text_columns = [
        "warning_signs",
        "coping_steps",
        "distractions",
        "professional_contacts",
        "safer_surroundings",
    ]
    stored = raw_values(SafetyPlan._meta.db_table, text_columns)
    stored += raw_values(SafetyPlanContact._meta.db_table, ["name", "phone"])
    plaintexts = ["duermo", "caminar", "Café", "555", "medicamentos", "Ana", "Luis", "0142"]
    assert len(stored) == 9
    for value in stored:
        assert value.startswith("rf1:")
        assert not any(text in value for text in plaintexts)


def test_reads_writes_and_prints_are_audited_without_the_text(written, owner, clinics):
    owner.get(plan_url(clinics))
    owner.get(plan_url(clinics, "episode-safety-plan-print"))
    actions = list(
        AuditEvent.objects.filter(action__startswith="safety_plan.")
        .order_by("occurred_at", "seq")
        .values_list("action", flat=True)
    )
    assert actions == [
        "safety_plan.edit",
        "safety_plan.create",
        "safety_plan.read",
        "safety_plan.print",
    ]
    created = AuditEvent.objects.get(action="safety_plan.create")
    assert created.object_id == str(written.public_id)
    assert created.detail["count"] == 2
    assert "warning_signs" in created.detail["fields"]
    for event in AuditEvent.objects.filter(action__startswith="safety_plan."):
        assert "duermo" not in str(event.detail) and "Ana" not in str(event.detail)
        assert event.actor_id == clinics.owner.pk


# --- the brief and the client page ------------------------------------------------------


def test_the_brief_shows_a_short_safety_plan_block(written, owner, clinics):
    page = owner.get(reverse("episode-brief", args=[clinics.owner_episode.public_id]))
    html = page.content.decode()
    block = html[html.index('class="brief-safety-plan"') :]
    block = block[: block.index("</section>")]
    assert "Last reviewed 20 Nov 2026 (" in block and "days ago)" in block
    assert "printed in Español" in block
    assert "2 people to ask for help" in block
    assert "No duermo; Me aíslo de todos; Pienso que soy una carga" in block
    assert plan_url(clinics, "episode-safety-plan-print") in block


def test_a_plan_reviewed_today_says_so_in_the_brief(owner, clinics):
    today = datetime.date.today().isoformat()
    assert owner.post(plan_url(clinics), {**PLAN, "reviewed_on": today}).status_code == 302
    html = owner.get(reverse("episode-brief", args=[clinics.owner_episode.public_id]))
    assert "(today)" in html.content.decode()


def test_the_brief_says_when_there_is_no_plan(owner, client, clinics):
    brief = reverse("episode-brief", args=[clinics.owner_episode.public_id])
    html = owner.get(brief).content.decode()
    assert "No safety plan yet." in html and "Write a safety plan" in html
    login_verified(client, clinics.supervisor)
    html = client.get(brief).content.decode()
    assert "No safety plan yet." in html and "Write a safety plan" not in html


def test_the_client_page_links_to_the_plan(owner, clinics):
    page = owner.get(reverse("client-detail", args=[clinics.owner_client.public_id]))
    assert plan_url(clinics) in page.content.decode()


# --- printing in the client's language ------------------------------------------------


def test_the_printed_plan_is_in_the_plans_language(written, owner, clinics):
    html = owner.get(plan_url(clinics, "episode-safety-plan-print")).content.decode()
    assert '<html lang="es">' in html
    assert "<h1>Mi plan de seguridad</h1>" in html
    for heading in (
        "1. Señales de que empieza un momento difícil",
        "2. Lo que puedo hacer por mi cuenta para superarlo",
        "3. Personas y lugares que me ayudan a distraerme",
        "4. Personas a las que puedo pedir ayuda",
        "5. Profesionales y líneas de crisis a los que puedo acudir",
        "6. Cómo hacer más seguro mi entorno",
        "Líneas de crisis, a cualquier hora",
    ):
        assert f">{heading}</h2>" in html
    assert "Revisado por última vez el 20 de noviembre de 2026" in html
    assert '<th scope="col">Nombre</th><th scope="col">Teléfono</th>' in html
    assert "<td>Ana (hermana)</td><td>+1 555 0142</td>" in html
    assert "En español: llame al 988 y marque 2" in html
    assert "Signs that a hard time" not in html and "Crisis lines" not in html


def test_an_english_plan_prints_in_english_for_a_spanish_speaking_client(owner, clinics):
    set_demographics(clinics.owner_client, language="es")
    assert owner.post(plan_url(clinics), {**PLAN, "language": "en"}).status_code == 302
    html = owner.get(plan_url(clinics, "episode-safety-plan-print")).content.decode()
    assert '<html lang="en">' in html and "<h1>My safety plan</h1>" in html


def test_without_a_plan_the_print_page_is_a_blank_plan_in_the_clients_language(owner, clinics):
    set_demographics(clinics.owner_client, language="es")
    html = owner.get(plan_url(clinics, "episode-safety-plan-print")).content.decode()
    assert '<html lang="es">' in html
    assert ">1. Señales de que empieza un momento difícil</h2>" in html
    assert html.count('class="write-here"') >= 10


# --- the client's rights ------------------------------------------------------------------


def test_the_plan_is_in_the_clients_export_and_erased_with_their_identity(written, clinics):
    from rapport.security import rights

    exported = rights.export_client(clinics.owner_client)
    plan = exported["episodes"][0]["safety_plan"]
    assert plan["language"] == "es" and plan["reviewed_on"] == "2026-11-20"
    assert plan["coping_steps"] == ["Salir a caminar"]
    assert plan["helpers"][0] == {"name": "Ana (hermana)", "phone": "+1 555 0142"}
    rights.erase_client(clinics.owner_client)
    assert not SafetyPlan.objects.exists() and not SafetyPlanContact.objects.exists()


# --- two saves at once ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_first_saves_at_once_leave_one_plan(clinics):
    if connection.vendor != "postgresql":
        pytest.skip("the SQLite test database is one shared in-memory connection; threads test PG")
    from django.test import RequestFactory

    from rapport.safety_plans.editing import save_plan

    values = {
        "language": "es",
        "reviewed_on": datetime.date(2026, 11, 20),
        "warning_signs": "No duermo",
        "coping_steps": "",
        "distractions": "",
        "professional_contacts": "",
        "safer_surroundings": "",
    }
    request = RequestFactory().post("/")
    request.user = clinics.owner
    barrier = threading.Barrier(2)

    def first_save() -> None:
        barrier.wait()
        save_plan(clinics.owner_episode, values, [("Ana", "555 0142")], request=request)

    assert run_in_threads(first_save, threads=2) == []
    assert SafetyPlan.objects.count() == 1 and SafetyPlanContact.objects.count() == 1
    actions = sorted(
        AuditEvent.objects.filter(action__startswith="safety_plan.").values_list(
            "action", flat=True
        )
    )
    assert actions == ["safety_plan.create", "safety_plan.update"]
