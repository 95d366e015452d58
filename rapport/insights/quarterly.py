"""The quarterly trust report: a clinic's, or a team's, quarter as a PDF (issue #20, point 7).

The report carries the insight pages' own figures for the episodes open during one
calendar quarter (the filtered view of :mod:`rapport.insights.filters`), never a
statistic of its own: the headline trust, alliance and outcome tables (each figure
with its n and 95% CI), the equity readings and forest plots, and the instruments'
reliability, each chart with its text description underneath. A PDF leaves Rapport,
so its figures are always the protected ones
(``rapport.security.access.insight_disclosure`` on the DOWNLOAD channel); the builder
refuses figures that still carry protection marks. The report is written in the
reader's language (the request's, rapport.accounts.languages), dates and the quarter
included.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from rapport.accounts.models import User
from rapport.core.charts import Chart
from rapport.insights import charts
from rapport.insights.reports import MEASURES
from rapport.insights.scope import month_end
from rapport.insights.tables import PROTECT, display_rows
from rapport.insights.wording import translated_page, translated_table
from rapport.workspace.report_document import SMALL_SIZE, ReportDocument

QUARTER_FORMAT = re.compile(r"(\d{4})-Q([1-4])")
# How many past quarters the insights page offers.
RECENT_QUARTERS = 8
# The correlations the report leads with, as (measure, with) message ids of the
# trust & alliance page's table.
HEADLINE_CORRELATIONS = (
    (MEASURES["trust_mean"], MEASURES["alliance_mean"]),
    (MEASURES["trust_mean"], MEASURES["outcome_improvement"]),
    (MEASURES["alliance_mean"], MEASURES["outcome_improvement"]),
)


class QuarterError(ValueError):
    """A quarter that is not written as ``YYYY-Qn`` or is not over yet (message for the reader)."""


@dataclass(frozen=True, order=True)
class Quarter:
    """One calendar quarter: ``number`` 1 (January to March) to 4."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            raise ValueError(f"a quarter is numbered 1 to 4, not {self.number}")

    @classmethod
    def parse(cls, text: str) -> Quarter:
        """The quarter written ``2026-Q3``; :class:`QuarterError` otherwise."""
        match = QUARTER_FORMAT.fullmatch(text.strip())
        if match is None or int(match[1]) < 1900:
            raise QuarterError(_("Enter a quarter as year and quarter, e.g. 2026-Q3."))
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def holding(cls, day: datetime.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def first_month(self) -> datetime.date:
        return datetime.date(self.year, 3 * self.number - 2, 1)

    @property
    def last_month(self) -> datetime.date:
        return datetime.date(self.year, 3 * self.number, 1)

    def previous(self) -> Quarter:
        if self.number == 1:
            return Quarter(self.year - 1, 4)
        return Quarter(self.year, self.number - 1)

    def is_over(self, today: datetime.date) -> bool:
        return month_end(self.last_month) < today

    def __str__(self) -> str:
        return f"{self.year}-Q{self.number}"

    def words(self) -> str:
        """ "Q3 2026 (July to September)", in the reader's language."""
        return _("Q%(number)s %(year)s (%(first)s to %(last)s)") % {
            "number": self.number,
            "year": self.year,
            "first": date_format(self.first_month, "F"),
            "last": date_format(self.last_month, "F"),
        }


def last_complete_quarter(today: datetime.date) -> Quarter:
    return Quarter.holding(today).previous()


def recent_quarters(today: datetime.date, count: int = RECENT_QUARTERS) -> list[Quarter]:
    """The last ``count`` complete quarters, newest first."""
    quarters = [last_complete_quarter(today)]
    while len(quarters) < count:
        quarters.append(quarters[-1].previous())
    return quarters


def complete_quarter(text: str, today: datetime.date) -> Quarter:
    """The quarter ``text`` names, which must be over by ``today``; :class:`QuarterError`
    (with a message for the reader) otherwise."""
    quarter = Quarter.parse(text)
    if not quarter.is_over(today):
        raise QuarterError(
            _("%(quarter)s is not over yet: choose a quarter that has ended.")
            % {"quarter": quarter.words()}
        )
    return quarter


# --- the PDF --------------------------------------------------------------------------------


def trust_report(
    *,
    clinic: str,
    quarter: Quarter,
    scope_words: str,
    figures: Mapping[str, Any],
    figures_at: datetime.datetime,
    reader: User,
) -> bytes:
    """The quarterly trust report as PDF bytes.

    ``figures``: the protected figures of the quarter's scope (as
    :func:`rapport.insights.snapshots.figures_for` gives them at PROTECTED), stored
    language-neutral; they are translated here into the active language. ``scope_words``
    names what they cover ("Whole clinic", "Team of ..."). Raises ValueError for figures
    that still carry protection marks, and MissingFontError when a name needs a script
    no installed font covers.
    """
    pages = figures["pages"]
    _require_protected(pages)
    pdf = ReportDocument(
        title=_("Quarterly trust report, %(quarter)s") % {"quarter": quarter.words()},
        footer_text=_("Rapport quarterly trust report - %(clinic)s - %(quarter)s")
        % {"clinic": clinic, "quarter": quarter.words()},
    )
    _cover(pdf, clinic, quarter, scope_words, figures, figures_at, reader)
    translated = {name: translated_page(page) for name, page in pages.items()}

    pdf.heading(_("Trust and alliance"), 13)
    tables = _by_name(pages["trust_alliance"])
    headline = [
        _by_name(pages["instruments"]).get("published_comparison"),
        _only_rows(
            tables.get("correlations"), lambda row: (row["x"], row["y"]) in HEADLINE_CORRELATIONS
        ),
        tables.get("early_trust_dropout"),
    ]
    for stored in headline:
        if stored is not None:
            _table(pdf, translated_table(stored))
    _readings(pdf, translated["trust_alliance"]["readings"])

    pdf.heading(_("Outcomes"), 13)
    outcome_tables = _by_name(translated["outcomes"])
    for name in ("reliable_change", "endings"):
        if name in outcome_tables:
            _table(pdf, outcome_tables[name])
    _readings(pdf, translated["outcomes"]["readings"])
    if "reliable_change" in outcome_tables:
        _chart(pdf, charts.change_chart(outcome_tables["reliable_change"]))

    pdf.heading(_("Equity"), 13)
    _readings(pdf, translated["equity"]["readings"])
    for stored in translated["equity"]["tables"]:
        if stored["name"].startswith("equity_"):
            _chart(pdf, charts.forest_chart(stored))

    pdf.heading(_("Instrument health"), 13)
    _readings(pdf, translated["instruments"]["readings"])
    reliability = _by_name(translated["instruments"]).get("reliability")
    if reliability is not None:
        _chart(pdf, charts.reliability_chart(reliability))
    return bytes(pdf.output())


def _require_protected(pages: Mapping[str, Any]) -> None:
    """A PDF leaves Rapport: refuse exact figures (rows still marked for protection)."""
    for page in pages.values():
        for stored in page["tables"]:
            if any(row.get(PROTECT) for row in stored["rows"]):
                raise ValueError("the quarterly report needs protected figures")


def _cover(
    pdf: ReportDocument,
    clinic: str,
    quarter: Quarter,
    scope_words: str,
    figures: Mapping[str, Any],
    figures_at: datetime.datetime,
    reader: User,
) -> None:
    pdf.heading(_("Quarterly trust report"), 16)
    pdf.heading(f"{clinic} - {quarter.words()}", 12)
    pdf.heading(scope_words, 11)
    clients, episodes = figures.get("clients"), figures.get("episodes")
    if clients is not None and episodes is not None:
        pdf.paragraph(
            _("%(clients)s clients and %(episodes)s episodes of care open during the quarter.")
            % {"clients": f"{clients:,}", "episodes": f"{episodes:,}"}
        )
    else:
        pdf.paragraph(_("The number of clients is not shown: fewer than 11 people."))
    pdf.paragraph(
        _(
            "Each episode open at some time during the quarter counts with all its check-ins, "
            "so change is measured from its first to its last score."
        )
    )
    pdf.paragraph(
        _(
            "Small numbers are suppressed: no figure resting on 1 to 10 people is shown, nor "
            "one from which such a figure could be worked out. A dash (—) marks a figure "
            "left out."
        )
    )
    pdf.paragraph(
        _("Figures computed %(computed)s; report prepared %(prepared)s for %(reader)s (%(role)s).")
        % {
            "computed": _moment(figures_at),
            "prepared": _moment(timezone.now()),
            "reader": reader,
            "role": reader.get_role_display(),
        },
        SMALL_SIZE,
    )
    pdf.ln(3)


def _moment(value: datetime.datetime) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def _by_name(page: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {stored["name"]: stored for stored in page["tables"]}


def _only_rows(stored: Mapping[str, Any] | None, keep) -> dict[str, Any] | None:
    if stored is None:
        return None
    return {**stored, "rows": [row for row in stored["rows"] if keep(row)]}


def _table(pdf: ReportDocument, stored: Mapping[str, Any]) -> None:
    """A translated insight table as the page shows it: its title, its columns, a dash for
    each suppressed figure, and its note."""
    pdf.heading(stored["title"], 10)
    if not stored["rows"]:
        pdf.paragraph(_("No figures for this quarter."))
        pdf.ln(2)
        return
    columns = stored["columns"]
    widths = tuple(_column_weight(column) for column in columns)
    aligns = tuple("LEFT" if column["kind"] == "text" else "RIGHT" for column in columns)
    with pdf.table(col_widths=widths, text_align=aligns, line_height=4.2, padding=0.8) as table:
        table.row([column["label"] for column in columns])
        for row in display_rows(stored):
            table.row([cell["text"] for cell in row["cells"]])
    if stored.get("note"):
        pdf.paragraph(stored["note"], SMALL_SIZE)
    pdf.ln(2)


def _column_weight(column: Mapping[str, Any]) -> float:
    if column["kind"] == "text":
        return 3.0
    return 2.2 if column["kind"].startswith("ci") else 1.5


def _readings(pdf: ReportDocument, readings: Sequence[str]) -> None:
    if not readings:
        return
    pdf.heading(_("In plain words"), 10)
    for reading in readings:
        pdf.paragraph(f"\u2022 {reading}")
    pdf.ln(2)


def _chart(pdf: ReportDocument, chart: Chart | None) -> None:
    """A chart with its text description underneath (nothing when nothing is drawable)."""
    if chart is None:
        return
    pdf.chart(chart, chart.description)
    pdf.ln(3)
