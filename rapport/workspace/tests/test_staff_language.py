"""A Spanish-speaking therapist reads the workspace in Spanish; an English one in English.

The language is the member's own setting (``User.language``), not the browser's: a
Spanish therapist on an English browser still gets Spanish pages, messages and flags.
"""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from rapport.testing import login_verified, reads_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def low_trust_episode(clinics, trajectory):
    # Trust fell from 6 to 2 at session 2: a "trust" flag with its one-sentence reason.
    return trajectory(clinics.owner, "R-ES-1", trust=(6, 2), phq9=(12, 10))


def _pages(client, episode) -> dict[str, str]:
    client_url = reverse("client-detail", args=[episode.client.public_id])
    return {
        "caseload": client.get(reverse("home")).content.decode(),
        "client": client.get(client_url).content.decode(),
        "brief": client.get(reverse("episode-brief", args=[episode.public_id])).content.decode(),
        "worklist": client.get(reverse("worklist")).content.decode(),
    }


def test_a_spanish_speaking_therapist_reads_caseload_client_page_and_brief_in_spanish(
    client, clinics, low_trust_episode
):
    reads_in(clinics.owner, "es")
    login_verified(client, clinics.owner)
    pages = _pages(client, low_trust_episode)

    assert '<html lang="es">' in pages["caseload"]
    assert "<h1>Casos</h1>" in pages["caseload"]
    assert "Agregar un cliente" in pages["caseload"]
    assert "La confianza bajó de 6.0 a 2.0 desde la sesión anterior." in pages["caseload"]
    assert "Cerrar sesión" in pages["caseload"]

    assert "Señales y alertas" in pages["client"]
    assert "Sesiones y cuestionarios" in pages["client"]
    assert "Informe de evolución (PDF)" in pages["client"]
    assert "Cerrar este episodio" in pages["client"]
    assert "Tratamiento completado" in pages["client"]  # a model choice
    assert "<td>Moderada</td>" in pages["client"]  # the PHQ-9 band, in the instrument's words
    assert "PHQ-9 (completado)" in pages["client"]  # a questionnaire's state

    assert "Antes de la sesión:" in pages["brief"]
    assert "Qué cambió desde el cuestionario anterior" in pages["brief"]
    assert "Hablar sobre la relación" in pages["brief"]

    assert "Pendientes de cuestionarios" in pages["worklist"]
    for name, page in pages.items():
        assert "Sign out" not in page, name
        assert "Caseload" not in page, name


def test_flag_reasons_count_in_spanish_without_plural_slips(client, clinics, trajectory):
    # One earlier alliance score ("las 1 puntuaciones anteriores" was the slip) and two
    # missed sessions: the singular and the plural form, each in Spanish.
    trajectory(clinics.owner, "R-ES-2", alliance=(32, 22))
    trajectory(clinics.owner, "R-ES-3", statuses=("attended", "missed", "cancelled"))
    reads_in(clinics.owner, "es")
    login_verified(client, clinics.owner)
    caseload = client.get(reverse("home")).content.decode()

    assert "La alianza bajó de 32 a 22 desde la sesión anterior.<" in caseload
    assert "Faltó o canceló las últimas 2 sesiones." in caseload
    assert "las 1 " not in caseload and "Alliance" not in caseload


def test_scheduling_answers_a_spanish_therapist_in_spanish(client, clinics):
    reads_in(clinics.owner, "es")
    login_verified(client, clinics.owner)
    episode = clinics.owner_episode  # started 5 Jan 2026
    url = reverse("episode-schedule", args=[episode.public_id])

    refused = client.post(url, {"scheduled_at": "2026-01-04T09:00"}, follow=True)
    assert "No se programó: el episodio comenzó el 5 ene 2026" in refused.content.decode()

    done = client.post(url, {"scheduled_at": "2026-12-10T09:00"}, follow=True)
    assert "programada para el 10 dic 2026 09:00." in done.content.decode()


def test_an_english_speaking_therapist_reads_the_same_pages_in_english(
    client, clinics, low_trust_episode
):
    # Whatever the browser asks for: the member's own setting decides.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "es"
    login_verified(client, clinics.owner)
    pages = _pages(client, low_trust_episode)

    assert "<h1>Caseload</h1>" in pages["caseload"]
    assert "Trust fell from 6.0 to 2.0 since the last session." in pages["caseload"]
    assert "Flags and alerts" in pages["client"]
    assert "<td>Moderate</td>" in pages["client"]
    assert "What changed since the last check-in" in pages["brief"]
    for name, page in pages.items():
        assert "Cerrar sesión" not in page, name


def test_the_progress_report_is_written_in_the_readers_language(client, clinics, low_trust_episode):
    reads_in(clinics.owner, "es")
    login_verified(client, clinics.owner)
    response = client.get(reverse("episode-report", args=[low_trust_episode.public_id]))
    assert response.status_code == 200
    report = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in report.pages)
    assert report.metadata.title == "Informe de evolución R-ES-1"
    assert "Puntuaciones" in text and "Alertas y su atención" in text
    assert "Scores" not in text
