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
from django.utils.formats import date_format
from django.utils.translation import gettext as _
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
        page = _("page %(number)s") % {"number": self.page_no()}
        self.cell(0, 8, f"{self.footer_text} - {page}", align="C")


def progress_report(view: EpisodeView, user: User, client_name: str = "") -> bytes:
    """The report as PDF bytes.

    ``client_name`` only for a reader who may see identities (rapport.workspace.names);
    the footer and the file's metadata keep the record number alone.
    """
    episode = view.episode
    pdf = _Report()
    record = episode.client.record_number
    pdf.footer_text = _(
        "Rapport progress report - %(record)s - confidential health information"
    ) % {"record": record}
    pdf.set_title(_("Progress report %(record)s") % {"record": record})
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
    heading(_("Progress report - client %(client)s") % {"client": who}, 16)
    dates = {"start": date_format(episode.started_on, "j M Y")}
    if episode.ended_on:
        dates["end"] = date_format(episode.ended_on, "j M Y")
        episode_text = _("Episode from %(start)s to %(end)s") % dates
    else:
        episode_text = _("Episode from %(start)s (active)") % dates
    line(
        episode_text
        + "; "
        + _("therapist %(therapist)s") % {"therapist": episode.therapist}
        + "; "
        + ngettext("%d session attended.", "%d sessions attended.", view.record.sessions_attended)
        % view.record.sessions_attended
    )
    line(
        _("Prepared %(when)s for %(user)s (%(role)s).")
        % {
            "when": date_format(timezone.localtime(), "j M Y H:i"),
            "user": user,
            "role": user.get_role_display(),
        }
    )
    pdf.ln(3)

    heading(_("Scores"))
    if view.panels:
        columns = (_("Instrument"), _("First"), _("Latest"), _("Band"), _("Reliable change"))
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
                        _reliable_change_text(panel.reliable_change),
                    )
                )
    else:
        line(_("No completed questionnaires yet."))
    if view.hidden:
        line(_("Relationship questionnaires are for supervisors only at this clinic; not shown."))
    pdf.ln(3)

    heading(_("Flags"))
    for marker in view.markers:
        line("- " + _("Risk marker: %(message)s") % {"message": marker.message})
    for flag in view.flags or ():
        state = " " + _("(acknowledged)") if flag.acknowledged else ""
        line(f"- {flag.label}{state}: {flag.message}")
    if not view.flags and not view.markers:
        line(_("No flags."))
    pdf.ln(3)

    heading(_("Alerts and acknowledgements"))
    alerts = view.record.alerts
    if alerts:
        with pdf.table(col_widths=(22, 28, 28, 22, 50), text_align="LEFT") as table:
            table.row((_("Kind"), _("Raised"), _("Acknowledged"), _("By"), _("Record")))
            for alert in alerts:
                table.row(
                    (
                        str(alert.get_kind_display()),
                        date_format(timezone.localtime(alert.raised_at), "j M Y H:i"),
                        date_format(timezone.localtime(alert.acknowledged_at), "j M Y H:i")
                        if alert.acknowledged_at
                        else _("open"),
                        str(alert.acknowledged_by or "-"),
                        _acknowledgement_record(alert),
                    )
                )
    else:
        line(_("No alerts."))

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
        parts.append(
            _("Risk resolved %(when)s by %(who)s: %(note)s")
            % {
                "when": date_format(timezone.localtime(alert.resolved_at), "j M Y"),
                "who": alert.resolved_by or "-",
                "note": alert.resolution_note,
            }
        )
    return "; ".join(parts) or "-"


def _reliable_change_text(change: str) -> str:
    """The reliable-change code of a panel (charts.reliable_change) in the reader's words."""
    texts = {"improved": _("reliably improved"), "deteriorated": _("reliably deteriorated")}
    return texts.get(change, change) or _("within error")
