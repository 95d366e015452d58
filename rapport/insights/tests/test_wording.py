"""Insight tables and readings in the reader's language (#17.7): the snapshot stores
message ids, each page is translated when it is read."""

from __future__ import annotations

import csv
import io

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from rapport.core.instruments import instruments
from rapport.insights import reports, snapshots
from rapport.insights.release import table_may_replace
from rapport.insights.wording import message, translate, translated_page
from rapport.testing import login_verified, reads_in

# (page url, strings a Spanish-speaking supervisor reads there: table titles, column
# labels, category labels and readings)
SPANISH = {
    "insights-instruments": [
        "Consistencia interna",
        "IC 95% de alfa (Feldt)",
        "Alfa publicado",
        "Las respuestas a ",
        "Confianza y alianza frente a la correlación publicada",
    ],
    "insights-trust-alliance": [
        "Cómo se relacionan la confianza, la alianza, la apertura y el cambio en el resultado",
        "Confianza, media de las sesiones",
        "Tercio más bajo (por debajo de ",
        "La confianza temprana como predictor del abandono",
    ],
    "insights-outcomes": [
        "Cambio fiable y clínicamente significativo, episodios cerrados",
        "Mejoría fiable y recuperación",
        "Los clientes completaron el ",
        "Episodios por estado",
    ],
    "insights-equity": [
        "Característica",
        "Comparado con",
        "Raza o etnia",
        "<td>Mujer</td>",
    ],
}
ENGLISH = {
    "insights-instruments": ["Internal consistency", "answers in this clinic"],
    "insights-trust-alliance": ["How trust, alliance, openness and outcome change relate"],
    "insights-outcomes": ["Reliably improved and recovered", "Clients completed "],
    "insights-equity": ["Characteristic", "<td>Woman</td>"],
}


@pytest.mark.django_db
def test_each_supervisor_reads_the_insight_tables_and_readings_in_their_language(
    client, synth_clinic
):
    supervisor = synth_clinic.supervisor
    reads_in(supervisor, "es")
    login_verified(client, supervisor)
    for url, expected in SPANISH.items():
        html = client.get(reverse(url)).text
        for text in expected:
            assert text in html, (url, text)
        for text in ENGLISH[url]:
            assert text not in html, (url, text)
    assert "In plain words" not in html

    # The same snapshot, read by the same member after switching to English.
    supervisor.language = "en"
    supervisor.save(update_fields=["language"])
    for url, expected in ENGLISH.items():
        html = client.get(reverse(url)).text
        for text in expected:
            assert text in html, (url, text)
        for text in SPANISH[url]:
            assert text not in html, (url, text)


@pytest.mark.django_db
def test_a_download_has_its_headers_in_the_readers_language(client, synth_clinic):
    supervisor = synth_clinic.supervisor
    reads_in(supervisor, "es")
    login_verified(client, supervisor)
    response = client.get(reverse("insights-outcomes-csv"), {"table": "reliable_change"})
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert header[:3] == ["Instrumento", "Resultado", "Episodios"]
    assert "IC 95%, límite inferior (%)" in header
    assert any(row[1] == "Mejoría fiable y recuperación" for row in rows)


@pytest.mark.django_db
def test_a_snapshot_stored_with_english_sentences_is_recomputed_when_opened(client, synth_clinic):
    snapshot = snapshots.refresh(synth_clinic.organisation)
    old = dict(snapshot.data, schema=2)
    old["pages"]["instruments"]["readings"] = ["An English sentence of an old snapshot."]
    snapshot.data = old
    snapshot.save(update_fields=["data"])
    login_verified(client, synth_clinic.supervisor)
    html = client.get(reverse("insights-instruments")).text
    assert "An English sentence of an old snapshot." not in html
    assert "answers in this clinic" in html
    assert snapshots.current(synth_clinic.organisation).data["schema"] == reports.SCHEMA


def test_plain_strings_of_an_old_page_pass_through_and_message_ids_are_translated():
    page = {
        "tables": [
            {
                "name": "reliability",
                "title": "Internal consistency",
                "note": "",
                "columns": [{"key": "instrument", "label": "Instrument", "kind": "text"}],
                "rows": [{"instrument": "PHQ-9 (Patient Health Questionnaire)"}],
            }
        ],
        "readings": ["PHQ-9 answers in this clinic hang together well (alpha .85)."],
    }
    with translation.override("es"):
        shown = translated_page(page)
    assert shown["tables"][0]["title"] == "Consistencia interna"
    assert shown["tables"][0]["columns"][0]["label"] == "Instrumento"
    assert shown["tables"][0]["rows"][0]["instrument"] == "PHQ-9 (Patient Health Questionnaire)"
    assert shown["readings"] == page["readings"]
    assert shown["notes"] == []


def test_a_sentence_is_translated_with_its_figures_and_nested_labels():
    reading = reports._with_care(
        message(
            "%(outcome)s: %(group)s differs from %(reference)s by %(difference)s "
            "(95%% CI %(low)s to %(high)s).",
            outcome=reports.EQUITY_OUTCOMES["trust_mean"],
            group="Woman",
            reference="Man",
            difference="+0.40",
            low="+0.10",
            high="+0.70",
        ),
        {"protect": {"keys": ["n"], "why": "primary"}},
    )
    with translation.override("es"):
        assert translate(reading) == (
            "Confianza, media de las sesiones: Mujer difiere de Hombre en +0.40 "
            "(IC 95% +0.10 a +0.70). (Números pequeños: interprételo con cautela)."
        )
    with translation.override("en"):
        assert translate(reading) == (
            "Trust, mean over sessions: Woman differs from Man by +0.40 "
            "(95% CI +0.10 to +0.70). (Small numbers: interpret with care.)"
        )


def test_releases_match_rows_whose_labels_are_stored_messages():
    """Rows labelled by a stored message (a third of early trust) match across refreshes
    like rows labelled by a message id: one person more is held back, eleven are not."""
    third = message("Lowest third (below %(low)s)", low="3.10")

    def stored(n: int) -> dict:
        return {
            "name": "early_trust_dropout",
            "columns": [
                {"key": "group", "label": "Early trust", "kind": "text"},
                {"key": "n", "label": "n", "kind": "int"},
            ],
            "rows": [{"group": dict(third), "n": n}],
        }

    assert table_may_replace(stored(40), stored(41), threshold=11) is False
    assert table_may_replace(stored(40), stored(51), threshold=11) is True


@pytest.mark.django_db
def test_instrument_titles_and_item_wording_follow_the_reader(client, synth_clinic):
    """The worker stores instruments' English titles and item wording; a Spanish reader
    gets the definition file's Spanish, as on the client page."""
    from rapport.core.instruments import instruments

    trust = instruments()["rapport_trust"]
    item = trust.items[0]
    supervisor = synth_clinic.supervisor
    reads_in(supervisor, "es")
    login_verified(client, supervisor)
    html = client.get(reverse("insights-instruments")).text
    assert trust.title["es"] in html
    assert item.text["es"] in html
    assert item.text["en"] not in html
    # A message's argument (``%(instrument)s: items``) is read the same way.
    with translation.override("es"):
        stored = message("%(instrument)s: items", instrument=trust.title["en"])
        assert trust.title["es"] in translate(stored)


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "es"])
def test_check_in_completion_names_each_instrument_by_its_title(client, synth_clinic, language):
    supervisor = synth_clinic.supervisor
    supervisor.language = language
    supervisor.save(update_fields=["language"])
    login_verified(client, supervisor)
    response = client.get(reverse("insights-outcomes-csv"), {"table": "checkin_completion"})
    header, *rows = list(csv.reader(io.StringIO(response.content.decode())))
    named = [row[0] for row in rows[:-1]]  # the last row is all instruments together
    # Its counts are of check-ins, in words that agree with each other in Spanish too.
    counts = {
        "en": ["Check-ins completed", "Check-ins offered"],
        "es": ["Cuestionarios completados", "Cuestionarios ofrecidos"],
    }
    assert header[1:3] == counts[language]

    registry = instruments()
    used = {"phq9", "gad7", "rapport_trust", "rapport_alliance", "rapport_openness"}
    assert sorted(named) == sorted(registry[i].title[language] for i in used)
    assert not set(named) & used


@pytest.mark.parametrize(
    ("language", "figures", "expected"),
    [
        ("en", {"clients": 1, "episodes": 1}, "1 client, 1 episode."),
        ("en", {"clients": 1, "episodes": 2}, "1 client, 2 episodes."),
        ("en", {"clients": 12, "episodes": 14}, "12 clients, 14 episodes."),
        ("es", {"clients": 1, "episodes": 1}, "1 cliente, 1 episodio."),
        ("es", {"clients": 12, "episodes": 14}, "12 clientes, 14 episodios."),
    ],
)
def test_the_size_of_a_view_is_counted_in_words(language, figures, expected):
    # A therapist's own view can hold one client: "1 clients, 1 episodes" was the slip.
    with translation.override(language):
        assert render_to_string("insights/_view_size.html", {"figures": figures}) == expected
