"""Fonts for the PDF report, one family per script, from Debian's maintained font packages.

Clients write their names, and clinicians their notes, in any script. The report sets text
in Noto Sans (``fonts-noto-core``: Latin, Greek, Cyrillic) and reaches, character by
character, for the Noto family of the script it meets: Arabic, Hebrew, Devanagari and other
Indic scripts, Thai, Armenian, Georgian, Ethiopic (``fonts-noto-core``) and Chinese,
Japanese and Korean (``fonts-noto-cjk``). DejaVu Sans (``fonts-dejavu-core``) fills in
arrows and mathematical signs that Noto Sans lacks, and is the text face when Noto is not
installed. Families are loaded only when a report needs them (the CJK collection costs
about a second), and fpdf2 embeds only the glyphs a report uses.

A character that no installed font has stops the report with :class:`MissingFontError`,
naming the script and the package to install, instead of printing an empty box.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext

NOTO_CORE, NOTO_CJK, DEJAVU = "fonts-noto-core", "fonts-noto-cjk", "fonts-dejavu-core"


@dataclass(frozen=True)
class FontFamily:
    name: str
    package: str
    regular: str  # file names, found under any of the font directories
    bold: str
    # Face of a TrueType/OpenType collection: the CJK collection's faces differ only in
    # regional glyph shapes, and every face covers Chinese, Japanese and Korean.
    collection_index: int = 0

    def path(self, bold: bool) -> Path | None:
        return find_font_file(self.bold if bold else self.regular)


def _noto(script: str) -> FontFamily:
    return FontFamily(
        f"NotoSans{script}",
        NOTO_CORE,
        f"NotoSans{script}-Regular.ttf",
        f"NotoSans{script}-Bold.ttf",
    )


# Fallbacks in order of preference for the characters the text face lacks.
FAMILIES = (
    _noto(""),
    *(
        _noto(script)
        for script in (
            "Arabic",
            "Hebrew",
            "Devanagari",
            "Bengali",
            "Gurmukhi",
            "Gujarati",
            "Tamil",
            "Telugu",
            "Kannada",
            "Malayalam",
            "Sinhala",
            "Thai",
            "Khmer",
            "Armenian",
            "Georgian",
            "Ethiopic",
        )
    ),
    # After the Noto scripts, so that Arabic or Hebrew come from their Noto family; before
    # the CJK collection, which also has arrows and signs but costs a second to load.
    FontFamily("DejaVuSans", DEJAVU, "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    # Index 2 of Debian's collection is the Simplified Chinese face (JP, KR, SC, TC, HK).
    FontFamily("NotoSansCJK", NOTO_CJK, "NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", 2),
)
# The faces that can set a whole report's text, in order of preference.
TEXT_FACES = ("NotoSans", "DejaVuSans")
REQUIRED_PACKAGES = (NOTO_CORE, NOTO_CJK, DEJAVU)


class MissingFontError(RuntimeError):
    """Text in a script no installed font covers; names the scripts, never the text."""

    def __init__(self, scripts: Iterable[str]) -> None:
        self.scripts = sorted(set(scripts))
        missing = missing_packages()
        packages = " ".join(missing or REQUIRED_PACKAGES)
        super().__init__(
            gettext(
                "The report has text in %(scripts)s that no installed font can print. "
                "Install the fonts (apt-get install %(packages)s) and try again."
            )
            % {"scripts": ", ".join(self.scripts), "packages": packages}
        )


def font_dirs() -> list[Path]:
    return [Path(directory) for directory in settings.REPORT_FONT_DIRS]


@cache
def _font_index(dirs: tuple[Path, ...]) -> dict[str, Path]:
    """File name -> path of every font file under ``dirs`` (first directory wins)."""
    index: dict[str, Path] = {}
    for directory in dirs:
        if directory.is_dir():
            for path in sorted(directory.rglob("*")):
                if path.suffix.lower() in (".ttf", ".otf", ".ttc"):
                    index.setdefault(path.name, path)
    return index


def find_font_file(name: str) -> Path | None:
    return _font_index(tuple(font_dirs())).get(name)


def installed_families() -> list[FontFamily]:
    return [family for family in FAMILIES if family.path(bold=False)]


def missing_packages() -> list[str]:
    """The font packages none of whose families is installed (for `rapport demo` and errors)."""
    installed = {family.package for family in installed_families()}
    return [package for package in REQUIRED_PACKAGES if package not in installed]


@cache
def coverage(path: Path, collection_index: int) -> frozenset[int]:
    """The code points a font file has glyphs for (read once per process)."""
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]  # fontTools ships no types

    font = TTFont(path, fontNumber=collection_index, lazy=True)
    return frozenset(font.getBestCmap() or ())


def text_face() -> FontFamily:
    """The installed family that sets the report's text (Noto Sans, else DejaVu Sans)."""
    installed = {family.name: family for family in installed_families()}
    for name in TEXT_FACES:
        if name in installed:
            return installed[name]
    raise MissingFontError(["Latin"])


def has_glyph(family: FontFamily, character: str) -> bool:
    path = family.path(bold=False)
    return path is not None and ord(character) in coverage(path, family.collection_index)


def family_for(character: str) -> FontFamily | None:
    """The first installed family that has ``character``."""
    return next((f for f in installed_families() if has_glyph(f, character)), None)


def needs_glyph(character: str) -> bool:
    """Whether ``character`` is drawn: not a control or format character (ZWJ, bidi marks)."""
    return unicodedata.category(character)[0] != "C"


def script_of(character: str) -> str:
    """A script's name for an error message: "CJK", "Arabic", "Tamil"... (not the character)."""
    word = unicodedata.name(character, "").split(" ")[0]
    if not word:
        return gettext("unknown script")
    return word if word == "CJK" else word.title()
