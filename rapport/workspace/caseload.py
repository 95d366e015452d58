"""The rows of a caseload: flags, headline scores with trends and check-in status.

Queries, whatever the size of the caseload: the episodes (with client and therapist),
then :func:`rapport.workspace.records.load_records` (sessions, administrations, flagged
answers, alerts, check-in stops) and the clinic's expected-response fit. Flags, trends
and sorting are computed in Python on those rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from rapport.accounts.models import User
from rapport.alerts import FlagKind
from rapport.checkin.talk_requests import open_talk_requests
from rapport.clinic.models import Episode, Organisation
from rapport.core.instruments import instruments
from rapport.instruments import Instrument
from rapport.security.access import hidden_instrument_ids
from rapport.workspace.charts import fmt
from rapport.workspace.flags import (
    RiskItem,
    RiskMarker,
    ShownFlag,
    risk_item,
    risk_markers,
    risk_severity,
    shown_flags,
    urgency,
)
from rapport.workspace.names import client_names, matches
from rapport.workspace.records import (
    EpisodeRecord,
    flag_rules,
    load_records,
    visible_instruments,
)

HEADLINE_COLUMNS = ("trust", "alliance", "outcome")
# The check-in states a caseload row can be in (CaseloadRow.checkin), for ?checkin=.
CHECKIN_STATES = ("completed", "pending", "overdue", "declined", "expired", "stopped", "none")
# ?sort= keys the caseload accepts (rapport.security.params.ordering); values are the
# names of the Python sort keys below, not ORM fields: sorting happens after the flags.
SORT_KEYS = {key: key for key in ("urgency", "record", "started", *HEADLINE_COLUMNS)}


def headline_instrument_ids() -> dict[str, str]:
    """Which instrument fills each headline column: the ones the flag rules watch."""
    rules = flag_rules()
    return {
        "trust": rules.trust_instrument,
        "alliance": rules.rupture_instrument,
        "outcome": rules.not_on_track_instrument,
    }


@dataclass(frozen=True)
class Headline:
    """The latest score of one instrument and how it moved since the one before."""

    instrument: Instrument
    latest: float | None = None
    previous: float | None = None
    session: int | None = None
    hidden: bool = False

    @cached_property
    def delta(self) -> float | None:
        if self.latest is None or self.previous is None:
            return None
        return round(self.latest - self.previous, self.instrument.decimals or 1)

    @property
    def direction(self) -> str:
        """``up``, ``down``, ``steady`` or ``none`` (fewer than two scores)."""
        if self.delta is None:
            return "none"
        return "up" if self.delta > 0 else "down" if self.delta < 0 else "steady"

    @property
    def better(self) -> bool | None:
        """Whether the move is an improvement (None when steady or unknown)."""
        if self.direction in ("none", "steady"):
            return None
        return (self.direction == "up") == self.instrument.higher_is_better

    @property
    def display(self) -> str:
        return "\u2014" if self.latest is None else fmt(self.latest)

    @property
    def delta_display(self) -> str:
        return "" if self.delta is None else fmt(abs(self.delta))

    @property
    def arrow(self) -> str:
        return {"up": "↑", "down": "↓", "steady": "→", "none": ""}[self.direction]

    @property
    def trend_text(self) -> str:
        """Screen-reader wording of the trend, e.g. "down 1.8 since the previous check-in,
        worse"."""
        if self.direction == "none":
            return _("no earlier score to compare")
        if self.direction == "steady":
            return _("unchanged since the previous check-in")
        words = {
            ("up", True): _("up %(change)s since the previous check-in, better"),
            ("up", False): _("up %(change)s since the previous check-in, worse"),
            ("down", True): _("down %(change)s since the previous check-in, better"),
            ("down", False): _("down %(change)s since the previous check-in, worse"),
        }
        return words[self.direction, bool(self.better)] % {"change": f"{abs(self.delta):g}"}


@dataclass
class CaseloadRow:
    episode: Episode
    record: EpisodeRecord
    flags: list[ShownFlag]
    headlines: dict[str, Headline]
    markers: list[RiskMarker] = field(default_factory=list)
    # How far the standing risk answers lie into their risk range (PHQ-9 item 9: its
    # answer, 0-3); see rapport.workspace.flags.risk_severity.
    risk_severity: float = 0
    # The client's name, only for users who may see identities (rapport.workspace.names).
    name: str = ""

    @property
    def urgency(self) -> int:
        """The tier: the rank of the most urgent open flag or risk marker (1 = safety)."""
        return urgency(self.flags, self.markers)

    @property
    def open_flags(self) -> list[ShownFlag]:
        return [flag for flag in self.flags if flag.is_open]

    @property
    def _tier_flags(self) -> list[ShownFlag]:
        return [flag for flag in self.open_flags if flag.kind == self.urgency]

    @property
    def awaiting_acknowledgement(self) -> bool:
        """Whether the tier holds something nobody has acknowledged (not just a marker)."""
        return bool(self._tier_flags)

    @property
    def flag_count(self) -> int:
        return len(self.open_flags) + len(self.markers)

    @property
    def flagged_at(self) -> datetime.datetime | None:
        """When the newest flag (or marked alert) of the row's tier was raised."""
        times = [flag.raised_at for flag in self._tier_flags]
        if self.urgency == FlagKind.SAFETY:
            times += [marker.alert.raised_at for marker in self.markers]
        return max((time for time in times if time is not None), default=None)

    @property
    def checkin(self) -> str:
        """The check-in status in a few words (stopped, or the latest session's state)."""
        if self.record.checkins_stopped_at:
            return "stopped"
        latest = self.record.latest_checkin
        return latest.checkin_state if latest else "none"

    def has_open(self, kind: FlagKind) -> bool:
        """Whether an open flag of ``kind`` (or, for safety, a risk marker) is on the row."""
        if kind == FlagKind.SAFETY and self.markers:
            return True
        return any(flag.kind == kind for flag in self.open_flags)

    @property
    def checkin_session(self) -> int | None:
        latest = self.record.latest_checkin
        return latest.number if latest else None


def expected_response_for(organisation: Organisation) -> Any:
    """The clinic's current expected-treatment-response model for the not-on-track rule.

    None until the insights app has fitted one (`rapport etr fit`); the rule is then
    silent, which the caseload says in its caption.
    """
    from rapport.insights.etr import current_expected_response

    return current_expected_response(organisation, flag_rules().not_on_track_instrument)


def build_rows(
    episodes: Iterable[Episode], user: User, *, expected_response: Any = None
) -> list[CaseloadRow]:
    """Caseload rows for ``episodes`` (already scoped to ``user`` by the access layer)."""
    hidden = hidden_instrument_ids(user)
    visible = visible_instruments(hidden)
    columns = headline_instrument_ids()
    rules = flag_rules()
    records = load_records(episodes, user)
    talk_requests = open_talk_requests(user, (record.episode for record in records.values()))
    rows = []
    for record in records.values():
        headlines = {
            column: _headline(record, instrument_id, hidden)
            for column, instrument_id in columns.items()
        }
        talk = talk_requests.get(record.episode.pk, [])
        flags = shown_flags(record, visible, rules, expected_response, talk)
        markers = risk_markers(record, visible, flags)
        rows.append(
            CaseloadRow(
                episode=record.episode,
                record=record,
                flags=flags,
                headlines=headlines,
                markers=markers,
                risk_severity=risk_severity(flags, markers, visible),
            )
        )
    return rows


def _headline(record: EpisodeRecord, instrument_id: str, hidden: frozenset[str]) -> Headline:
    instrument = instruments()[instrument_id]
    if instrument_id in hidden:
        return Headline(instrument, hidden=True)
    scores = record.completed(instrument_id)
    if not scores:
        return Headline(instrument)
    previous = scores[-2].total if len(scores) > 1 else None
    return Headline(instrument, scores[-1].total, previous, scores[-1].session)


def urgency_key(row: CaseloadRow) -> tuple:
    """The caseload's default order (docs/safety.md).

    By tier (safety, rupture, trust, not on track, engagement, nothing open); within a
    tier, rows with something unacknowledged before rows holding only an acknowledged
    risk, then the more severe (the critical answer, then the number of flags), then the
    newest. The record number only breaks exact ties, so the order is stable.
    """
    flagged_at = row.flagged_at
    return (
        row.urgency,
        not row.awaiting_acknowledgement,
        -row.risk_severity,
        -row.flag_count,
        flagged_at is None,
        -flagged_at.timestamp() if flagged_at else 0,
        row.episode.client.record_number,
    )


def sort_rows(rows: list[CaseloadRow], order: str) -> list[CaseloadRow]:
    """Rows sorted by a :data:`SORT_KEYS` value, optionally with a leading ``-``.

    Ties, and rows without a value (they always go last), fall back to
    :func:`urgency_key`, so the order is stable and the most urgent come first.
    """
    descending = order.startswith("-")
    key = order.lstrip("-")
    if key not in SORT_KEYS.values():
        raise ValueError(f"cannot sort the caseload by {order!r}")

    rows = sorted(rows, key=urgency_key)
    if key == "urgency":
        return list(reversed(rows)) if descending else rows
    values = {id(row): _sort_value(row, key) for row in rows}
    present = [row for row in rows if values[id(row)] is not None]
    missing = [row for row in rows if values[id(row)] is None]
    present.sort(key=lambda row: values[id(row)], reverse=descending)
    return present + missing


def _sort_value(row: CaseloadRow, key: str) -> Any:
    if key == "record":
        return row.episode.client.record_number
    if key == "started":
        return row.episode.started_on
    return row.headlines[key].latest


@dataclass(frozen=True)
class CaseloadFilters:
    """What the reader narrowed the caseload to (all optional, validated by the view).

    ``search`` matches the record number or, for users who may see them, the name;
    ``flag`` keeps rows with an open flag of that kind; ``checkin`` one of
    :data:`CHECKIN_STATES`; ``therapist`` a therapist's public id (supervisors).
    """

    search: str = ""
    flag: FlagKind | None = None
    checkin: str = ""
    therapist: str = ""

    def __post_init__(self) -> None:
        if self.checkin and self.checkin not in CHECKIN_STATES:
            raise ValueError(f"unknown check-in state {self.checkin!r}")

    def __bool__(self) -> bool:
        return bool(self.search or self.flag or self.checkin or self.therapist)


@dataclass
class Caseload:
    rows: list[CaseloadRow]
    # Whether the clinic has an expected-response fit (else "not on track" is silent).
    etr_available: bool
    # Active clients before the filters, and the therapists holding them (public id, name).
    total: int = 0
    therapists: list[tuple[str, str]] = field(default_factory=list)


def caseload(
    episodes: QuerySet[Episode],
    user: User,
    order: str = "urgency",
    filters: CaseloadFilters | None = None,
) -> Caseload:
    """The sorted caseload of ``episodes`` (a scoped queryset, e.g. ``active_caseload``).

    The names and the search cost one query for the whole page, whatever its size; the
    episodes are narrowed by search and therapist before their records are read, by flag
    and check-in state after the flags are computed.
    """
    filters = filters or CaseloadFilters()
    episodes = list(episodes.select_related("client", "therapist"))
    total = len(episodes)
    therapists = sorted(
        {(str(e.therapist.public_id), str(e.therapist)) for e in episodes},
        key=lambda therapist: therapist[1].casefold(),
    )
    names = client_names(user, [episode.client.public_id for episode in episodes])
    episodes = [episode for episode in episodes if _kept_before_reading(episode, names, filters)]
    model = expected_response_for(user.organisation) if episodes else None
    rows = build_rows(episodes, user, expected_response=model)
    for row in rows:
        row.name = names.get(str(row.episode.client.public_id), "")
    rows = [row for row in rows if _kept_after_flags(row, filters)]
    return Caseload(sort_rows(rows, order), model is not None, total, therapists)


def _kept_before_reading(episode: Episode, names: dict[str, str], filters: CaseloadFilters) -> bool:
    if filters.therapist and str(episode.therapist.public_id) != filters.therapist:
        return False
    if filters.search:
        name = names.get(str(episode.client.public_id), "")
        return matches(filters.search, episode.client.record_number, name)
    return True


def _kept_after_flags(row: CaseloadRow, filters: CaseloadFilters) -> bool:
    if filters.flag is not None and not row.has_open(filters.flag):
        return False
    return not filters.checkin or row.checkin == filters.checkin


@dataclass(frozen=True)
class OpenSafetyAlert:
    """One risk answer still open on a caseload: unacknowledged, or acknowledged and marked."""

    row: CaseloadRow
    item: RiskItem | None
    session: int | None
    raised_at: datetime.datetime | None
    alert: Any = None  # the Alert row; None for a risk answer that raised none (imports)
    # A risk item left blank: nothing to acknowledge; the next check-in answers it.
    unanswered: bool = False

    @property
    def acknowledged(self) -> bool:
        return self.alert is not None and self.alert.acknowledged_at is not None


def open_safety_alerts(
    rows: Iterable[CaseloadRow], instruments_seen: Mapping[str, Instrument]
) -> list[OpenSafetyAlert]:
    """The risk answers still open on ``rows``, oldest first (the longest waiting on top).

    ``instruments_seen``: the instruments the reader may see, to name the items.
    """
    found = []
    for row in rows:
        for flag in row.open_flags:
            if flag.kind != FlagKind.SAFETY:
                continue
            blank = flag.details.get("unanswered_item", "")
            code = flag.code or blank
            item = risk_item(code, instruments_seen) if code else None
            found.append(
                OpenSafetyAlert(
                    row, item, flag.session, flag.raised_at, flag.alert, unanswered=bool(blank)
                )
            )
        for marker in row.markers:
            alert = marker.alert
            found.append(
                OpenSafetyAlert(row, marker.item, alert.session_number, alert.raised_at, alert)
            )
    oldest_known = datetime.datetime.max.replace(tzinfo=datetime.UTC)
    return sorted(found, key=lambda entry: entry.raised_at or oldest_known)
