"""The page every Rapport PDF is set on: fpdf2 with the report fonts, a footer, headings.

Shared by the client progress report (rapport.workspace.report) and the clinic's
quarterly trust report (rapport.insights.quarterly). Text is set in the text face and
reaches, character by character, for the family of any script it meets
(rapport.workspace.report_fonts); text is shaped (uharfbuzz), so Arabic joins and
right-to-left text reads right to left inside an English line. A character no
installed font has stops the report with MissingFontError rather than printing an
empty box.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils.translation import gettext as _
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from rapport.core.charts import Chart
from rapport.workspace.report_fonts import (
    FAMILIES,
    FontFamily,
    MissingFontError,
    family_for,
    has_glyph,
    needs_glyph,
    script_of,
    text_face,
)

TEXT_SIZE, SMALL_SIZE = 9, 7.5


class ReportDocument(FPDF):
    """An FPDF that sets text in the text face and loads a script's family when text needs it.

    Paper from ``settings.REPORT_PAPER``; every page has ``footer_text`` and its number.
    """

    def __init__(self, *, title: str, footer_text: str) -> None:
        super().__init__(format=settings.REPORT_PAPER)
        self.face = text_face()
        self.footer_text = footer_text
        # Per style ("" or "B"): the fallback families loaded so far. A style is loaded only
        # when text in it needs the script (the CJK collection takes a second per style).
        self._fallbacks: dict[str, list[FontFamily]] = {"": [], "B": []}
        for style in ("", "B"):
            self._add_family(self.face, style)
        self.set_text_shaping(True)
        self.set_title(title)
        self.set_author("Rapport")
        self.set_auto_page_break(auto=True, margin=14)
        self.set_margins(14, 12, 14)
        self.add_page()
        self.set_font(self.face.name, size=TEXT_SIZE)

    def _add_family(self, family: FontFamily, style: str) -> None:
        if f"{family.name.lower()}{style}" in self.fonts:
            return
        # Without a bold file, the regular one stands in for bold text.
        path = family.path(bold=style == "B") or family.path(bold=False)
        self.add_font(family.name, style, path, collection_font_number=family.collection_index)

    def normalize_text(self, text: str) -> str:
        """Every text passes here before fpdf2 lays it out: make sure a font can draw it."""
        style = "B" if "B" in self.font_style else ""
        loaded = self._fallbacks[style]
        missing = set()
        for character in set(text):
            if not needs_glyph(character) or has_glyph(self.face, character):
                continue
            if any(has_glyph(family, character) for family in loaded):
                continue
            family = family_for(character)
            if family is None:
                missing.add(script_of(character))
                continue
            loaded.append(family)
            self._add_family(family, style)
            every = {f.name for styles in self._fallbacks.values() for f in styles}
            self.set_fallback_fonts([f.name for f in FAMILIES if f.name in every])
        if missing:
            raise MissingFontError(missing)
        return super().normalize_text(text)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(self.face.name, size=SMALL_SIZE)
        page = _("page %(number)s") % {"number": self.page_no()}
        self.cell(0, 8, f"{self.footer_text} - {page}", align="C")

    def heading(self, text: str, size: float = 11) -> None:
        """A bold heading across the text width; the text size is restored after it."""
        self.set_font(self.face.name, "B", size)
        self.multi_cell(self.epw, size * 0.55, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.face.name, size=TEXT_SIZE)

    def paragraph(self, text: str, size: float = TEXT_SIZE) -> None:
        """A paragraph across the text width, wrapped."""
        self.set_font(self.face.name, size=size)
        self.multi_cell(self.epw, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.face.name, size=TEXT_SIZE)

    def chart(self, chart: Chart, caption: str) -> None:
        """``chart`` across the text width (a PNG of its Vega-Lite spec, which fpdf2 places
        reliably where vl-convert's SVG is not drawable by it), ``caption`` underneath in
        small text, and the chart's description as the picture's alternative text."""
        self.image(io.BytesIO(chart.png()), w=self.epw, alt_text=chart.description)
        self.paragraph(caption, SMALL_SIZE)
