"""The PDF progress report of one episode, built with fpdf2, for the record or supervision.

Two pages for a typical client: the episode, one scores table (first, latest, band,
reliable change), one picture of small multiples (a panel per instrument on a shared
session axis, rendered by vl-convert from Vega-Lite like the client page's charts, with
the charts' text descriptions as its alternative text), the flags, and the alerts with
their acknowledgements. Each instrument is named once in the text, in the table.

Names and notes are printed in whatever script they are written in: fonts come from
Debian's font packages, per script (rapport.workspace.report_fonts), and text is shaped
(uharfbuzz) so that Arabic joins, Devanagari forms its conjuncts and right-to-left text
reads right to left inside an English line. A character no installed font has stops the
report with MissingFontError rather than printing an empty box.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext, ngettext
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from rapport.accounts.models import User
from rapport.workspace.charts import score_text, small_multiples
from rapport.workspace.client_record import EpisodeView
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


class _Report(FPDF):
    """An FPDF that sets text in the text face and loads a script's family when text needs it."""

    footer_text = ""

    def __init__(self) -> None:
        super().__init__(format=settings.REPORT_PAPER)
        self.face = text_face()
        # Per style ("" or "B"): the fallback families loaded so far. A style is loaded only
        # when text in it needs the script (the CJK collection takes a second per style).
        self._fallbacks: dict[str, list[FontFamily]] = {"": [], "B": []}
        for style in ("", "B"):
            self._add_family(self.face, style)
        self.set_text_shaping(True)

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
        page = gettext("page %(page)s of %(pages)s") % {
            "page": self.page_no(),
            "pages": self.str_alias_nb_pages,
        }
        self.cell(0, 8, f"{self.footer_text} \u2013 {page}", align="C")


def progress_report(view: EpisodeView, user: User, client_name: str = "") -> bytes:
    """The report as PDF bytes.

    ``client_name`` only for a reader who may see identities (rapport.workspace.names);
    the footer and the file's metadata keep the record number alone. Raises
    MissingFontError when the text needs a script no installed font covers.
    """
    episode = view.episode
    record_number = episode.client.record_number
    pdf = _Report()
    pdf.footer_text = gettext(
        "Rapport progress report %(record)s \u2013 confidential health information"
    ) % {"record": record_number}
    pdf.set_title(gettext("Progress report %(record)s") % {"record": record_number})
    pdf.set_author("Rapport")
    pdf.set_auto_page_break(auto=True, margin=14)
    pdf.set_margins(14, 12, 14)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: float = 11) -> None:
        pdf.set_font(pdf.face.name, "B", size)
        pdf.multi_cell(width, size * 0.55, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(pdf.face.name, size=TEXT_SIZE)

    def line(text: str, size: float = TEXT_SIZE) -> None:
        pdf.set_font(pdf.face.name, size=size)
        pdf.multi_cell(width, size * 0.5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(pdf.face.name, size=TEXT_SIZE)

    def date(value) -> str:
        return f"{value:%d %b %Y}"

    def moment(value) -> str:
        return f"{timezone.localtime(value):%d %b %Y %H:%M}"

    who = f"{client_name} ({record_number})" if client_name else record_number
    heading(gettext("Progress report: %(client)s") % {"client": who}, 14)
    period = (
        gettext("Episode from %(start)s to %(end)s")
        % {"start": date(episode.started_on), "end": date(episode.ended_on)}
        if episode.ended_on
        else gettext("Episode from %(start)s (active)") % {"start": date(episode.started_on)}
    )
    attended = view.record.sessions_attended
    line(
        f"{period}; "
        + gettext("therapist %(therapist)s") % {"therapist": episode.therapist}
        + "; "
        + ngettext("%d session attended.", "%d sessions attended.", attended) % attended
        + " "
        + gettext("Prepared %(when)s for %(user)s (%(role)s).")
        % {"when": moment(timezone.now()), "user": user, "role": user.get_role_display()}
    )
    pdf.ln(2)

    heading(gettext("Scores"))
    if view.panels:
        with pdf.table(
            col_widths=(40, 22, 22, 22, 30), text_align="LEFT", line_height=4.2, padding=0.8
        ) as table:
            table.row(
                (
                    gettext("Instrument"),
                    gettext("First"),
                    gettext("Latest"),
                    gettext("Band"),
                    gettext("Change from session 1"),
                )
            )
            for panel in view.panels:
                first, latest = panel.first, panel.latest
                table.row(
                    (
                        panel.name,
                        f"{score_text(first)} (s{first.session})",
                        f"{score_text(latest)} (s{latest.session})",
                        panel.band or "\u2013",
                        panel.reliable_change or gettext("within error"),
                    )
                )
        chart = small_multiples([(p.instrument, p.scores, p.expected) for p in view.panels])
        pdf.ln(1)
        pdf.image(io.BytesIO(chart.png()), w=width, alt_text=chart.description)
        line(_chart_key(view), SMALL_SIZE)
    else:
        line(gettext("No completed questionnaires yet."))
    if view.hidden:
        line(
            gettext(
                "Relationship questionnaires are for supervisors only at this clinic; not shown."
            )
        )
    pdf.ln(2)

    heading(gettext("Flags"))
    for marker in view.markers:
        line(f"\u2022 {gettext('Risk marker')}: {marker.message}")
    for flag in view.flags or ():
        state = f" ({gettext('acknowledged')})" if flag.acknowledged else ""
        line(f"\u2022 {flag.label}{state}: {flag.message}")
    if not view.flags and not view.markers:
        line(gettext("No flags."))
    pdf.ln(2)

    heading(gettext("Alerts and acknowledgements"))
    alerts = view.record.alerts
    if alerts:
        with pdf.table(
            col_widths=(22, 26, 26, 22, 54), text_align="LEFT", line_height=4.2, padding=0.8
        ) as table:
            table.row(
                (
                    gettext("Kind"),
                    gettext("Raised"),
                    gettext("Acknowledged"),
                    gettext("By"),
                    gettext("Record"),
                )
            )
            for alert in alerts:
                table.row(
                    (
                        alert.get_kind_display(),
                        moment(alert.raised_at),
                        moment(alert.acknowledged_at) if alert.acknowledged_at else gettext("open"),
                        str(alert.acknowledged_by or "\u2013"),
                        _acknowledgement_record(alert),
                    )
                )
    else:
        line(gettext("No alerts."))
    return bytes(pdf.output())


def _chart_key(view: EpisodeView) -> str:
    """What the chart's marks mean, saying only what this chart shows."""
    parts = []
    if any(panel.instrument.clinical_cutoff is not None for panel in view.panels):
        parts.append(gettext("Dashed line: clinical cutoff."))
    if any(panel.expected is not None and not panel.expected.empty for panel in view.panels):
        parts.append(gettext("Shaded band: the range expected at each session for this intake."))
    parts.append(gettext("Triangles: reliable change from session 1."))
    return " ".join(parts)


def _acknowledgement_record(alert) -> str:
    """How the client was reached, the risk review, the note and any resolution."""
    parts = [
        str(label)
        for label in (alert.get_contact_method_display(), alert.get_risk_outcome_display())
        if label
    ]
    if alert.acknowledgement_note:
        parts.append(alert.acknowledgement_note)
    if alert.resolved_at:
        parts.append(
            gettext("Risk resolved %(date)s by %(who)s: %(note)s")
            % {
                "date": f"{timezone.localtime(alert.resolved_at):%d %b %Y}",
                "who": alert.resolved_by or "\u2013",
                "note": alert.resolution_note,
            }
        )
    return "; ".join(parts) or "\u2013"
