"""Shipped definitions load, are complete in English and Spanish, and keep official wording."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from rapport.instruments import builtin_definitions_dir, load_definition
from rapport.instruments.model import Item, ResponseOption

SHIPPED = sorted(builtin_definitions_dir().glob("*.yaml"))
EXPECTED_IDS = {"phq9", "gad7", "rapport_trust", "rapport_alliance", "rapport_openness"}


NEWEST_VERSIONS = {
    "phq9": "2", "gad7": "2", "rapport_trust": "3", "rapport_alliance": "3",
    "rapport_openness": "2",
}  # fmt: skip


def test_the_expected_instruments_are_shipped(registry) -> None:
    assert set(registry) == EXPECTED_IDS
    assert len(registry) == 5
    assert len(registry.all_versions()) == len(SHIPPED) == 12
    assert {instrument.id: instrument.version for instrument in registry.values()} == (
        NEWEST_VERSIONS
    )
    # Every earlier version stays loaded: administrations given in it keep scoring by it.
    for instrument_id, newest in NEWEST_VERSIONS.items():
        versions = [item.version for item in registry.versions(instrument_id)]
        assert versions == [str(v) for v in range(1, int(newest) + 1)]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_every_definition_names_its_sources_and_licence_per_language(path) -> None:
    sources = load_definition(path).sources

    assert any(source.startswith("Licence:") for source in sources)
    licence = next(source for source in sources if source.startswith("Licence:"))
    assert "English" in licence
    assert "Spanish" in licence or "translations" in licence
    assert any(source.startswith("Missing items:") for source in sources)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_every_text_has_english_and_spanish(path) -> None:
    instrument = load_definition(path)

    assert instrument.languages == ("en", "es")
    texts = [instrument.title, instrument.notice]
    texts += [subscale.title for subscale in instrument.subscales]
    if instrument.instructions:
        texts.append(instrument.instructions)
    for item in instrument.items:
        texts.append(item.text)
        texts.extend(option.label for option in item.options)
    for text in texts:
        assert set(text) == {"en", "es"}
        assert all(value.strip() for value in text.values())
    assert instrument.source_path == path
    # Version 1 is <id>.yaml, later versions <id>_v<version>.yaml.
    expected_stem = (
        instrument.id if instrument.version == "1" else (f"{instrument.id}_v{instrument.version}")
    )
    assert path.stem == expected_stem


@pytest.mark.parametrize(
    ("instrument_id", "construct", "validated", "higher_is_better"),
    [
        ("phq9", "outcome", True, False),
        ("gad7", "outcome", True, False),
        ("rapport_trust", "trust", False, True),
        ("rapport_alliance", "alliance", False, True),
        ("rapport_openness", "openness", False, True),
    ],
)
def test_metadata(registry, instrument_id, construct, validated, higher_is_better) -> None:
    instrument = registry[instrument_id]

    assert instrument.construct == construct
    assert instrument.validated is validated
    assert instrument.higher_is_better is higher_is_better
    assert instrument.audience == "therapist"
    assert instrument.sources


def test_rapport_instruments_say_they_are_not_validated(registry) -> None:
    for instrument_id in ("rapport_trust", "rapport_alliance", "rapport_openness"):
        notice = registry[instrument_id].notice
        assert "not yet" in notice["en"] and "Aún no" in notice["es"]
        assert all("provisional" in band.text["en"] for band in registry[instrument_id].bands)


def test_trust_has_a_reverse_keyed_item_and_two_subscales(registry) -> None:
    trust = registry["rapport_trust"]

    assert [item.id for item in trust.items if item.reverse] == ["trust_judged"]
    assert [subscale.id for subscale in trust.subscales] == ["safety", "respect"]
    assert trust.scoring == "mean"
    assert (trust.items[0].min_value, trust.items[0].max_value) == (1, 7)
    assert all(item.skippable for item in trust.items)


def test_scale_items_expand_to_labelled_options(registry) -> None:
    bond = registry["rapport_alliance"].item("alliance_bond")

    assert bond.option_values == tuple(range(11))
    assert bond.options[0].label["en"] == "Not at all connected"
    assert bond.options[5].label == {"en": "5", "es": "5"}


PFIZER_NOTICE_EN = (
    "Developed by Drs. Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke and colleagues, "
    "with an educational grant from Pfizer Inc. No permission required to reproduce, "
    "translate, display or distribute."
)
PFIZER_NOTICE_ES = (
    "Elaborado por los doctores Robert L. Spitzer, Janet B.W. Williams, Kurt Kroenke y colegas, "
    "mediante una subvención educativa otorgada por Pfizer Inc. No se requiere permiso para "
    "reproducir, traducir, presentar o distribuir."
)

# Wording guard: the licence requires the official texts unaltered (the en dashes in the
# Spanish items are part of the official form). Change these only with a documented source.
PHQ9_TEXT = [
    (
        "Little interest or pleasure in doing things",
        "Poco interés o placer en hacer cosas",
    ),
    (
        "Feeling down, depressed, or hopeless",
        "Se ha sentido decaído(a), deprimido(a) o sin esperanzas",
    ),
    (
        "Trouble falling or staying asleep, or sleeping too much",
        "Ha tenido dificultad para quedarse o permanecer dormido(a), o ha dormido demasiado",
    ),
    (
        "Feeling tired or having little energy",
        "Se ha sentido cansado(a) o con poca energía",
    ),
    ("Poor appetite or overeating", "Sin apetito o ha comido en exceso"),
    (
        "Feeling bad about yourself — or that you are a failure or have let yourself or your "
        "family down",
        "Se ha sentido mal con usted mismo(a) – o que es un fracaso o que ha quedado mal con "  # noqa: RUF001
        "usted mismo(a) o con su familia",
    ),
    (
        "Trouble concentrating on things, such as reading the newspaper or watching television",
        "Ha tenido dificultad para concentrarse en ciertas actividades, tales como leer el "
        "periódico o ver la televisión",
    ),
    (
        "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
        "being so fidgety or restless that you have been moving around a lot more than usual",
        "¿Se ha movido o hablado tan lento que otras personas podrían haberlo notado? o lo "
        "contrario – muy inquieto(a) o agitado(a) que ha estado moviéndose mucho más de lo "  # noqa: RUF001
        "normal",
    ),
    (
        "Thoughts that you would be better off dead or of hurting yourself in some way",
        "Pensamientos de que estaría mejor muerto(a) o de lastimarse de alguna manera",
    ),
]
GAD7_TEXT = [
    (
        "Feeling nervous, anxious or on edge",
        "Se ha sentido nervioso(a), ansioso(a) o con los nervios de punta",
    ),
    (
        "Not being able to stop or control worrying",
        "No ha sido capaz de parar o controlar su preocupación",
    ),
    (
        "Worrying too much about different things",
        "Se ha preocupado demasiado por motivos diferentes",
    ),
    ("Trouble relaxing", "Ha tenido dificultad para relajarse"),
    (
        "Being so restless that it is hard to sit still",
        "Se ha sentido tan inquieto(a) que no ha podido quedarse quieto(a)",
    ),
    ("Becoming easily annoyed or irritable", "Se ha molestado o irritado fácilmente"),
    (
        "Feeling afraid as if something awful might happen",
        "Ha tenido miedo de que algo terrible fuera a pasar",
    ),
]
FREQUENCY_LABELS = [
    ("Not at all", "Ningún día"),
    ("Several days", "Varios días"),
    ("More than half the days", "Más de la mitad de los días"),
    ("Nearly every day", "Casi todos los días"),
]


DIFFICULTY_TEXT = (
    "If you checked off any problems, how difficult have these problems made it for you to do "
    "your work, take care of things at home, or get along with other people?",
    "Si marcó cualquiera de los problemas, ¿qué tanta dificultad le han dado estos problemas "
    "para hacer su trabajo, encargarse de las tareas del hogar, o llevarse bien con otras "
    "personas?",
)
DIFFICULTY_LABELS = [
    ("Not difficult at all", "No ha sido difícil"),
    ("Somewhat difficult", "Un poco difícil"),
    ("Very difficult", "Muy difícil"),
    ("Extremely difficult", "Extremadamente difícil"),
]
GAD7_SPANISH_UNVERIFIED = (
    "Esta versión en español no se ha podido cotejar con la traducción oficial."
)


@pytest.mark.parametrize(
    ("instrument_id", "version", "texts"),
    [
        ("phq9", "1", PHQ9_TEXT),
        ("phq9", "2", [*PHQ9_TEXT, DIFFICULTY_TEXT]),
        ("gad7", "1", GAD7_TEXT),
        ("gad7", "2", [*GAD7_TEXT, DIFFICULTY_TEXT]),
    ],
)
def test_official_wording_is_unaltered(registry, instrument_id, version, texts) -> None:
    instrument = registry.get(instrument_id, version=version)

    assert [(item.text["en"], item.text["es"]) for item in instrument.items] == texts
    for item in instrument.items:
        labels = FREQUENCY_LABELS if item.scored else DIFFICULTY_LABELS
        assert [(o.label["en"], o.label["es"]) for o in item.options] == labels
        assert item.option_values == (0, 1, 2, 3)
    notice_es = PFIZER_NOTICE_ES
    if (instrument_id, version) == ("gad7", "2"):
        notice_es = f"{PFIZER_NOTICE_ES} {GAD7_SPANISH_UNVERIFIED}"
    assert instrument.notice == {"en": PFIZER_NOTICE_EN, "es": notice_es}
    assert instrument.instructions["es"] == (
        "Durante las últimas 2 semanas, ¿qué tan seguido ha tenido molestias debido a los "
        "siguientes problemas?"
    )


def test_unverified_spanish_gad7_says_so_to_respondents_and_in_its_sources(registry) -> None:
    """No authoritative copy of the official US Spanish GAD-7 was found: the text is kept,
    labelled as unverified, rather than presented as the official translation."""
    gad7 = registry["gad7"]
    spanish_sources = [source for source in gad7.sources if source.startswith("Spanish text:")]

    assert gad7.notice["es"].endswith(GAD7_SPANISH_UNVERIFIED)
    assert spanish_sources and all("UNVERIFIED" in source for source in spanish_sources)
    for version in registry.versions("gad7"):
        assert not any(source.startswith("Spanish text: Pfizer") for source in version.sources), (
            version.version
        )
    docs = (Path(__file__).resolve().parents[3] / "docs" / "instruments.md").read_text("utf-8")
    assert "Spanish GAD-7 is unverified" in docs


def test_zero_to_ten_items_are_rating_scales_and_word_options_are_not(registry) -> None:
    # Check-in forms show a rating scale as one row of numbers with its anchors at the ends.
    scales = {
        item.id
        for instrument in registry.values()
        for item in instrument.items
        if item.is_rating_scale
    }
    alliance = [item.id for item in registry["rapport_alliance"].items]
    assert scales == {*alliance, "openness_today"}
    assert all(len(registry["rapport_alliance"].item(i).options) == 11 for i in alliance)


def _item(points: Sequence[tuple[float, str]]) -> Item:
    options = tuple(ResponseOption(value, {"en": label, "es": label}) for value, label in points)
    return Item(id="x", text={"en": "X"}, options=options)


def test_a_rating_scale_needs_five_evenly_spaced_numbered_points() -> None:
    numbered = [(value, str(value)) for value in range(11)]
    assert _item([(0, "Not at all"), *numbered[1:-1], (10, "Completely")]).is_rating_scale
    assert _item(numbered).is_rating_scale
    assert not _item(numbered[:4]).is_rating_scale  # four points: a short list reads better
    assert not _item([(0, "0"), (1, "1"), (2, "2"), (3, "3"), (5, "5")]).is_rating_scale
    words = ["Never", "Rarely", "Sometimes", "Often", "Always"]
    assert not _item(list(enumerate(words))).is_rating_scale
    assert not _item([*numbered[:5], (5, "Somewhat"), *numbered[6:]]).is_rating_scale
