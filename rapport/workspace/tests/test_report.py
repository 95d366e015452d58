"""The PDF progress report: two pages for a typical client, names in every script.

Needs Debian's fonts-noto-core, fonts-noto-cjk and fonts-dejavu-core (.ci/run installs
them); without them the name tests fail, as a clinic's report would.
"""

import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from pypdf import PdfReader

from rapport.clinic.models import ClientIdentity, Episode
from rapport.core.instruments import instruments
from rapport.testing import login_verified, make_episode, make_organisation, make_user
from rapport.workspace.client_record import episode_views
from rapport.workspace.report_fonts import find_font_file
from rapport.workspace.sample import STORIES, seed_caseload
from rapport.workspace.titles import short_title

pytestmark = pytest.mark.django_db

# Names as clients write them; the script's Noto family must be embedded to print them.
NAMES = {
    "José Núñez": "NotoSans",
    "Ελένη Παπαδοπούλου": "NotoSans",
    "Анна Иванова": "NotoSans",
    "محمد الأحمد": "NotoSansArabic",
    "דוד כהן": "NotoSansHebrew",
    "अनन्या शर्मा": "NotoSansDevanagari",
    "王小明": "NotoSansCJK",
    "山田太郎": "NotoSansCJK",
    "김민준": "NotoSansCJK",
}
RIGHT_TO_LEFT = {"NotoSansArabic", "NotoSansHebrew"}


def report(client, episode) -> bytes:
    response = client.get(reverse("episode-report", args=[episode.public_id]))
    assert response.status_code == 200, response.content[:500]
    return response.content


def text_of(pdf: bytes) -> str:
    # pypdf puts a NUL between the glyphs of a CID-keyed CFF font (the CJK one); poppler's
    # pdftotext and viewers do not.
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\x00", "")


def embedded_fonts(pdf: bytes) -> set[str]:
    """Base names of the fonts in the file, without the subset prefix ("NotoSansArabic")."""
    names = set()
    for page in PdfReader(io.BytesIO(pdf)).pages:
        resources: Any = page["/Resources"]
        for font in resources["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]).split("+")[-1].lstrip("/"))
    return names


@pytest.fixture
def typical_caseload(client):
    """Seven clients, one per story, with 20 weekly sessions and four instruments."""
    therapist = make_user(make_organisation())
    episodes = seed_caseload(
        therapist, instruments(), n_clients=len(STORIES), n_sessions=20, prefix="T-"
    )
    ClientIdentity.objects.bulk_create(
        ClientIdentity(client=episode.client, given_name="Ana María", family_name="López Núñez")
        for episode in episodes
    )
    login_verified(client, therapist)
    return therapist, episodes


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_a_typical_client_report_fits_two_pages_and_names_each_instrument_once(
    client, settings, typical_caseload, paper
):
    settings.REPORT_PAPER = paper
    therapist, episodes = typical_caseload
    views = {view.episode.pk: view for view in episode_views(_episodes(episodes), therapist)}
    for episode in episodes:
        pdf = report(client, episode)
        pages = PdfReader(io.BytesIO(pdf)).pages
        assert len(pages) <= 2, (episode.client.record_number, len(pages))
        text = re.sub(r"\s+", " ", text_of(pdf))
        assert "Ana María López Núñez" in text
        view = views[episode.pk]
        assert len(view.panels) == 4  # trust, alliance, PHQ-9, GAD-7
        # Flags may name an instrument in their sentence; headings and chart titles may not.
        flag_text = " ".join(
            [flag.message for flag in view.flags] + [m.message for m in view.markers]
        )
        for panel in view.panels:
            title = short_title(panel.instrument)
            assert text.count(title) == 1 + flag_text.count(title), (title, text)


def _episodes(episodes):
    return Episode.objects.filter(pk__in=[episode.pk for episode in episodes])


@pytest.fixture
def named_client(client):
    therapist = make_user(make_organisation())
    episode = make_episode(therapist, sessions=2)
    identity = ClientIdentity.objects.create(client=episode.client, given_name="", family_name="")
    login_verified(client, therapist)
    return episode, identity


def test_report_page_size_follows_the_paper_setting(client, settings, named_client):
    episode, _ = named_client
    sizes = {}
    for paper in ("A4", "Letter"):
        settings.REPORT_PAPER = paper
        page = PdfReader(io.BytesIO(report(client, episode))).pages[0]
        sizes[paper] = (round(float(page.mediabox.width)), round(float(page.mediabox.height)))
    assert sizes == {"A4": (595, 842), "Letter": (612, 792)}


@pytest.mark.parametrize("name", list(NAMES))
def test_client_names_print_in_their_own_script(client, named_client, name):
    episode, identity = named_client
    identity.family_name = name
    identity.save()
    pdf = report(client, episode)
    family = NAMES[name]
    assert any(font.startswith(family) for font in embedded_fonts(pdf))  # regular or bold
    text = text_of(pdf)
    if family in RIGHT_TO_LEFT:
        # Extracted in visual order (right to left), so the words come back reversed;
        # each word comes back whole, its letters in reading order.
        assert all(word in text for word in name.split()), text
    else:
        assert re.sub(r"\s+", "", name) in re.sub(r"\s+", "", text), text


def test_a_right_to_left_name_reads_right_to_left_inside_the_english_title(client, named_client):
    episode, identity = named_client
    identity.family_name = "דוד כהן"
    identity.save()
    text = text_of(report(client, episode))
    # The first word (דוד) is drawn right of the second (כהן); the record number in its
    # brackets stays after the name, as written.
    title = next(line for line in text.splitlines() if "Progress report" in line)
    assert title.index("כהן") < title.index("דוד") < title.index(episode.client.record_number)


def test_a_script_without_an_installed_font_stops_the_report_with_a_clear_message(
    client, named_client, settings, tmp_path: Path
):
    # A server with Noto Sans only (no fonts-noto-cjk, no DejaVu).
    for name in ("NotoSans-Regular.ttf", "NotoSans-Bold.ttf"):
        installed = find_font_file(name)
        assert installed is not None, f"{name} missing: apt-get install fonts-noto-core"
        (tmp_path / name).symlink_to(installed)
    settings.REPORT_FONT_DIRS = [str(tmp_path)]
    episode, identity = named_client
    identity.family_name = "王小明"
    identity.save()
    response = client.get(reverse("episode-report", args=[episode.public_id]))
    assert response.status_code == 503
    page = response.content.decode()
    assert "no installed font can print" in page and "CJK" in page
    assert "fonts-noto-cjk" in page
    assert "王" not in page  # the message names the script, never the text


def test_the_chart_key_says_only_what_the_picture_shows_in_the_readers_language(
    typical_caseload,
):
    from django.utils import translation

    from rapport.workspace.report import progress_report

    therapist, episodes = typical_caseload
    view = episode_views(_episodes(episodes[:1]), therapist)[0]
    text = text_of(progress_report(view, therapist))
    # PHQ-9 and GAD-7 have cutoffs; the demo clinic has no fitted expected-response model.
    assert "Dashed line: clinical cutoff." in text
    assert "Shaded band" not in text
    with translation.override("es"):
        spanish = text_of(progress_report(view, therapist))
    assert "Línea discontinua: punto de corte clínico." in spanish


def test_a_single_score_is_reported_without_a_change(client):
    from rapport.testing import add_score

    therapist = make_user(make_organisation())
    episode = make_episode(therapist, sessions=2)
    add_score(episode.sessions.get(number=2), "gad7", 8, construct="outcome")
    login_verified(client, therapist)

    text = text_of(report(client, episode))

    gad7 = text[text.index("GAD-7 8 (s2)") :].split("\n", 1)[0]
    assert gad7 == "GAD-7 8 (s2) 8 (s2) Mild \u2013", gad7  # an en dash: no change to judge
    assert "within error" not in gad7
