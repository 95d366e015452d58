"""The PDF progress report of one episode, built with fpdf2 (pure Python, PyPI only).

Same content as the client page: instruments with first, latest and reliable change,
the same charts (PNG rendered by vl-convert from the same Vega-Lite specs) with their
text descriptions, the flags, and the alerts with their acknowledgements.

Text is set in DejaVu Sans, shipped in ``fonts/`` with its licence, because notes and
names are written in the clinic's languages: the PDF core fonts cover Latin-1 only and
turned "Đã gọi" or "Dvořák" into question marks. fpdf2 embeds only the glyphs a report
uses. Scripts DejaVu Sans lacks (Chinese, Japanese, Korean, Indic) show as empty boxes.
"""

from __future__ import annotations

import io
from pathlib import Path

from django.utils import timezone
from django.utils.translation import ngettext
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from rapport.accounts.models import User
from rapport.workspace.charts import score_text
from rapport.workspace.client_record import EpisodeView

FONT = "DejaVu"
FONT_FILES = {
    "": Path(__file__).resolve().parent / "fonts" / "DejaVuSans.ttf",
    "B": Path(__file__).resolve().parent / "fonts" / "DejaVuSans-Bold.ttf",
}


class _Report(FPDF):
    footer_text = ""

    def __init__(self) -> None:
        super().__init__(format="A4")
        for style, path in FONT_FILES.items():
            self.add_font(FONT, style, path)

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, size=8)
        self.cell(0, 8, f"{self.footer_text} - page {self.page_no()}", align="C")


def progress_report(view: EpisodeView, user: User, client_name: str = "") -> bytes:
    """The report as PDF bytes.

    ``client_name`` only for a reader who may see identities (rapport.workspace.names);
    the footer and the file's metadata keep the record number alone.
    """
    episode = view.episode
    pdf = _Report()
    pdf.footer_text = (
        f"Rapport progress report - {episode.client.record_number} - confidential health "
        "information"
    )
    pdf.set_title(f"Progress report {episode.client.record_number}")
    pdf.set_author("Rapport")
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()
    width = pdf.epw

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font(FONT, "B", size)
        pdf.multi_cell(width, 7, str(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font(FONT, size=10)

    def line(text: str) -> None:
        pdf.multi_cell(width, 5, str(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    who = (
        f"{client_name} ({episode.client.record_number})"
        if client_name
        else episode.client.record_number
    )
    heading(f"Progress report - client {who}", 16)
    line(
        f"Episode from {episode.started_on:%d %b %Y}"
        + (f" to {episode.ended_on:%d %b %Y}" if episode.ended_on else " (active)")
        + f"; therapist {episode.therapist}; "
        + ngettext("%d session attended.", "%d sessions attended.", view.record.sessions_attended)
        % view.record.sessions_attended
    )
    line(f"Prepared {timezone.localtime():%d %b %Y %H:%M} for {user} ({user.get_role_display()}).")
    pdf.ln(3)

    heading("Scores")
    if view.panels:
        columns = ("Instrument", "First", "Latest", "Band", "Reliable change")
        with pdf.table(col_widths=(40, 15, 15, 20, 25), text_align="LEFT") as table:
            table.row(columns)
            for panel in view.panels:
                first, latest = panel.first, panel.latest
                table.row(
                    (
                        str(panel.name),
                        f"{score_text(first)} (s{first.session})",
                        f"{score_text(latest)} (s{latest.session})",
                        panel.band or "-",
                        panel.reliable_change or "within error",
                    )
                )
    else:
        line("No completed questionnaires yet.")
    if view.hidden:
        line("Relationship questionnaires are for supervisors only at this clinic; not shown.")
    pdf.ln(3)

    heading("Flags")
    for marker in view.markers:
        line(f"- Risk marker: {marker.message}")
    for flag in view.flags or ():
        state = " (acknowledged)" if flag.acknowledged else ""
        line(f"- {flag.label}{state}: {flag.message}")
    if not view.flags and not view.markers:
        line("No flags.")
    pdf.ln(3)

    heading("Alerts and acknowledgements")
    alerts = view.record.alerts
    if alerts:
        with pdf.table(col_widths=(22, 28, 28, 22, 50), text_align="LEFT") as table:
            table.row(("Kind", "Raised", "Acknowledged", "By", "Record"))
            for alert in alerts:
                table.row(
                    (
                        alert.get_kind_display(),
                        f"{timezone.localtime(alert.raised_at):%d %b %Y %H:%M}",
                        f"{timezone.localtime(alert.acknowledged_at):%d %b %Y %H:%M}"
                        if alert.acknowledged_at
                        else "open",
                        str(alert.acknowledged_by or "-"),
                        _acknowledgement_record(alert),
                    )
                )
    else:
        line("No alerts.")

    for panel in view.panels:
        pdf.add_page()
        heading(panel.chart.title)
        pdf.image(io.BytesIO(panel.chart.png()), w=width)
        pdf.ln(2)
        line(panel.chart.description)
    return bytes(pdf.output())


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
        when = f"{timezone.localtime(alert.resolved_at):%d %b %Y}"
        parts.append(f"Risk resolved {when} by {alert.resolved_by or '-'}: {alert.resolution_note}")
    return "; ".join(parts) or "-"
