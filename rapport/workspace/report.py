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

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rapport.accounts.models import User
from rapport.workspace.charts import Chart, marks_shown, score_text, small_multiples
from rapport.workspace.client_record import EpisodeView
from rapport.workspace.follow_up import FollowUp
from rapport.workspace.report_document import ReportDocument


def progress_report(view: EpisodeView, user: User, client_name: str = "") -> bytes:
    """The report as PDF bytes.

    ``client_name`` only for a reader who may see identities (rapport.workspace.names);
    the footer and the file's metadata keep the record number alone. Raises
    MissingFontError when the text needs a script no installed font covers.
    """
    episode = view.episode
    record_number = episode.client.record_number
    pdf = ReportDocument(
        title=_("Progress report %(record)s") % {"record": record_number},
        footer_text=_("Rapport progress report - %(record)s - confidential health information")
        % {"record": record_number},
    )
    heading, line = pdf.heading, pdf.paragraph

    def date(value) -> str:
        return date_format(value, _("j M Y"))

    def moment(value) -> str:
        return date_format(timezone.localtime(value), _("j M Y H:i"))

    who = f"{client_name} ({record_number})" if client_name else record_number
    heading(_("Progress report - client %(client)s") % {"client": who}, 14)
    period = (
        _("Episode from %(start)s to %(end)s")
        % {"start": date(episode.started_on), "end": date(episode.ended_on)}
        if episode.ended_on
        else _("Episode from %(start)s (active)") % {"start": date(episode.started_on)}
    )
    attended = view.record.sessions_attended
    line(
        f"{period}; "
        + _("therapist %(therapist)s") % {"therapist": episode.therapist}
        + "; "
        + ngettext("%d session attended.", "%d sessions attended.", attended) % attended
        + " "
        + _("Prepared %(when)s for %(user)s (%(role)s).")
        % {"when": moment(timezone.now()), "user": user, "role": user.get_role_display()}
    )
    pdf.ln(2)

    heading(_("Scores"))
    if view.panels:
        with pdf.table(
            col_widths=(40, 22, 22, 22, 30), text_align="LEFT", line_height=4.2, padding=0.8
        ) as table:
            table.row(
                (
                    _("Instrument"),
                    _("First"),
                    _("Latest"),
                    _("Band"),
                    _("Reliable change"),
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
                        _reliable_change_text(panel.reliable_change)
                        if len(panel.scores) > 1
                        else "\u2013",
                    )
                )
        chart = small_multiples([(panel.name, panel.chart) for panel in view.panels])
        pdf.ln(1)
        pdf.chart(chart, _chart_key(chart))
    else:
        line(_("No completed questionnaires yet."))
    if view.hidden:
        line(_("Relationship questionnaires are for supervisors only at this clinic; not shown."))
    pdf.ln(2)

    heading(_("Flags"))
    # A request to talk about how therapy is going stays on screen: a report leaves the
    # system (printed, shared for supervision), and the client was told only their
    # therapist and that therapist's supervisor would see it (may_see_talk_request).
    flags = [flag for flag in view.flags or () if flag.talk_request is None]
    for marker in view.markers:
        line(f"\u2022 {marker.label}: {marker.message}")
    for flag in flags:
        state = " " + _("(acknowledged)") if flag.acknowledged else ""
        unannounced = f" {flag.notified_nobody}" if flag.notified_nobody else ""
        line(f"\u2022 {flag.label}{state}: {flag.message}{unannounced}")
    if not flags and not view.markers:
        line(_("No flags."))
    pdf.ln(2)

    heading(_("Alerts and acknowledgements"))
    alerts = view.alert_follow_ups
    if alerts:
        with pdf.table(
            col_widths=(22, 26, 26, 22, 54), text_align="LEFT", line_height=4.2, padding=0.8
        ) as table:
            table.row(
                (
                    _("Kind"),
                    _("Raised"),
                    _("Acknowledged"),
                    _("By"),
                    _("Record"),
                )
            )
            for follow_up in alerts:
                alert = follow_up.alert
                table.row(
                    (
                        str(alert.get_kind_display()),
                        moment(alert.raised_at),
                        moment(alert.acknowledged_at) if alert.acknowledged_at else _("open"),
                        str(alert.acknowledged_by or "\u2013"),
                        _acknowledgement_record(follow_up),
                    )
                )
    else:
        line(_("No alerts."))
    return bytes(pdf.output())


def _chart_key(chart: Chart) -> str:
    """What the picture's marks mean, saying only what it shows."""
    marks = marks_shown(chart)
    parts = []
    if "rule" in marks:
        parts.append(_("Dashed line: clinical cutoff."))
    if "area" in marks:
        parts.append(_("Shaded band: the range expected at each session for this intake."))
    parts.append(_("Triangles: reliable change from the first score."))
    return " ".join(parts)


def _reliable_change_text(change: str) -> str:
    """The reliable-change code of a panel (charts.reliable_change) in the reader's words."""
    texts = {"improved": _("reliably improved"), "deteriorated": _("reliably deteriorated")}
    return texts.get(change, change) or _("within error")


def _acknowledgement_record(follow_up: FollowUp) -> str:
    """How the client was reached, the risk review, the note and any resolution, as far
    as the reader may read them (rapport.workspace.follow_up)."""
    alert = follow_up.alert
    parts = [label for label in (follow_up.contact_method, follow_up.outcome) if label]
    if follow_up.note:
        parts.append(follow_up.note)
    if alert.resolved_at:
        resolved = {
            "when": date_format(timezone.localtime(alert.resolved_at), _("j M Y")),
            "who": alert.resolved_by or "\u2013",
        }
        if follow_up.resolution_note:
            resolved["note"] = follow_up.resolution_note
            parts.append(_("Risk resolved %(when)s by %(who)s: %(note)s") % resolved)
        else:
            parts.append(_("Resolved %(when)s by %(who)s") % resolved)
    if follow_up.withheld:
        parts.append(
            _(
                "How it was followed up is kept for the "
                "therapist\N{RIGHT SINGLE QUOTATION MARK}s supervisors."
            )
        )
    return "; ".join(parts) or "\u2013"
