"""What the client page, the pre-session brief and the PDF report show for an episode.

:func:`episode_views` turns episodes (already scoped by the access layer) into
:class:`EpisodeView` objects: flags, one chart and item table per instrument, comments,
sessions with their check-in state, and the measurement plan. A fixed number of queries
however many sessions there are: the records (rapport.workspace.records), the comments,
the plan entries and the clinic's expected-response fit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext

from rapport.accounts.models import User
from rapport.checkin.models import AlertKind, Channel, CheckinSubmission
from rapport.checkin.talk_requests import open_talk_requests
from rapport.clinic.models import Episode, EpisodeStatus, PlanEntry
from rapport.instruments import Instrument
from rapport.security.access import hidden_instrument_ids, may_follow_up
from rapport.workspace.caseload import expected_response_for
from rapport.workspace.charts import Chart, fmt, reliable_change, score_chart
from rapport.workspace.flags import (
    RiskItem,
    RiskMarker,
    ShownFlag,
    risk_item,
    risk_markers,
    shown_flags,
)
from rapport.workspace.follow_up import FollowUp, follow_ups
from rapport.workspace.records import (
    AdministrationRow,
    EpisodeRecord,
    SessionRow,
    flag_rules,
    load_records,
    visible_instruments,
)
from rapport.workspace.titles import localized, short_title


@dataclass(frozen=True)
class ItemMove:
    """One item's answer at the previous and the latest check-in."""

    number: int
    text: str
    previous: str
    latest: str
    change: float | None

    @property
    def moved(self) -> bool:
        return bool(self.change)


@dataclass
class InstrumentPanel:
    instrument: Instrument
    scores: list[AdministrationRow]
    chart: Chart
    items: list[ItemMove] = field(default_factory=list)

    @property
    def name(self) -> str:
        return short_title(self.instrument)

    @property
    def first(self) -> AdministrationRow | None:
        return self.scores[0] if self.scores else None

    @property
    def latest(self) -> AdministrationRow | None:
        return self.scores[-1] if self.scores else None

    @property
    def previous(self) -> AdministrationRow | None:
        return self.scores[-2] if len(self.scores) > 1 else None

    @property
    def latest_score(self) -> str:
        """The latest total as every other page shows it (:func:`fmt`)."""
        return fmt(self.latest.total) if self.latest else fmt(None)

    @property
    def band(self) -> str:
        found = self.instrument.band_for(self.latest.total) if self.latest else None
        # The band's own wording in the reader's language ("Moderadamente grave"), not
        # its code.
        return localized(found.text, found.label.replace("_", " ")) if found else ""

    @property
    def reliable_change(self) -> str:
        if not self.first or not self.latest:
            return ""
        return reliable_change(self.instrument, self.first.total, self.latest.total)

    @property
    def change_since_last(self) -> float | None:
        if not self.previous or self.latest.total is None or self.previous.total is None:
            return None
        return self.latest.total - self.previous.total

    @property
    def fell(self) -> bool:
        """Whether the latest score is worse than the one before."""
        change = self.change_since_last
        if not change:
            return False
        return (change < 0) == self.instrument.higher_is_better

    def change_sentence(self) -> str:
        """E.g. "Trust: 6.1 → 4.3 (down 1.8, worse) since session 11"."""
        if not self.latest:
            return gettext("%(name)s: no score yet.") % {"name": self.name}
        if not self.previous:
            latest = self.latest
            return gettext("%(name)s: %(score)s at session %(session)s (first score).") % {
                "name": self.name,
                "score": fmt(latest.total),
                "session": latest.session,
            }
        change = self.change_since_last
        if change is None or change == 0:
            how = gettext("unchanged")
        else:
            # The difference of the two numbers as shown (5.8 -> 4.1 is "down 1.7"), not of
            # the unrounded scores, so the sentence adds up for the reader.
            shown = abs(_shown(self.latest.total) - _shown(self.previous.total))
            size = fmt(round(shown, 1)) if shown else gettext("less than 0.1")
            words = {
                (True, True): gettext("up %(size)s, worse"),
                (True, False): gettext("up %(size)s, better"),
                (False, True): gettext("down %(size)s, worse"),
                (False, False): gettext("down %(size)s, better"),
            }
            how = words[change > 0, self.fell] % {"size": size}
        return gettext(
            "%(name)s: %(previous)s at session %(previous_session)s → %(latest)s at "
            "session %(latest_session)s (%(how)s)."
        ) % {
            "name": self.name,
            "previous": fmt(self.previous.total),
            "previous_session": self.previous.session,
            "latest": fmt(self.latest.total),
            "latest_session": self.latest.session,
            "how": how,
        }


def _shown(value: float) -> float:
    """``value`` as :func:`~rapport.workspace.charts.fmt` displays it."""
    return float(fmt(value))


@dataclass(frozen=True)
class Comment:
    session: int
    submitted_at: datetime.datetime
    text: str


@dataclass(frozen=True)
class RiskAnswer:
    """One check-in's answer to a critical item, in words."""

    session: int
    completed_at: datetime.datetime | None
    words: str
    endorsed: bool


@dataclass(frozen=True)
class RiskItemHistory:
    """Every answer to one critical item in the episode (e.g. PHQ-9 item 9), oldest first."""

    item: RiskItem
    answers: list[RiskAnswer]


def risk_histories(record: EpisodeRecord, visible: dict[str, Instrument]) -> list[RiskItemHistory]:
    """The history of each critical item the client ever answered as a risk.

    Items never endorsed are left out: a table of "Not at all" rows would hide the ones
    that matter. Needs the answers of every administration (``all_answers``).
    """
    histories = []
    for instrument_id, rows in record.scores.items():
        instrument = visible.get(instrument_id)
        if instrument is None:
            continue
        for critical in instrument.critical_items:
            if not any(critical.flag in row.flags for row in rows):
                continue
            item = risk_item(critical.flag, visible)
            answers = [
                RiskAnswer(
                    row.session,
                    row.completed_at,
                    item.answer_words(row.answers.get(critical.item_id)),
                    critical.flag in row.flags,
                )
                for row in rows
            ]
            histories.append(RiskItemHistory(item, answers))
    return histories


@dataclass
class EpisodeView:
    episode: Episode
    record: EpisodeRecord
    flags: list[ShownFlag]
    panels: list[InstrumentPanel]
    comments: list[Comment]
    plan_entries: list[PlanEntry]
    hidden: frozenset[str]
    # Session number -> where a check-in sent through a staff-opened link was completed.
    staff_opened: dict[int, str] = field(default_factory=dict)
    markers: list[RiskMarker] = field(default_factory=list)
    risk_histories: list[RiskItemHistory] = field(default_factory=list)
    # Every alert of the episode in the order raised, with what the reader may read of
    # its follow-up (rapport.workspace.follow_up).
    alert_follow_ups: list[FollowUp] = field(default_factory=list)

    @property
    def sessions(self) -> list[SessionRow]:
        return self.record.sessions

    @property
    def sessions_with_place(self) -> list[tuple[SessionRow, str]]:
        """Each session with where its check-in was completed, if on a staff-opened link."""
        return [(session, self.staff_opened.get(session.number, "")) for session in self.sessions]

    @property
    def open_flags(self) -> list[ShownFlag]:
        return [flag for flag in self.flags if flag.is_open]

    @property
    def rates_the_last_session(self) -> bool:
        """Whether a questionnaire shown rates the session before its check-in
        (:attr:`rapport.instruments.Instrument.first_session`), which the page says."""
        return any(panel.instrument.first_session > 1 for panel in self.panels)

    @property
    def risk_reviews(self) -> list[FollowUp]:
        """The episode's acknowledged risk alerts, newest first: the clinical record."""
        reviewed = [
            follow_up
            for follow_up in self.alert_follow_ups
            if follow_up.alert.kind == AlertKind.CRITICAL_ITEM
            and follow_up.alert.acknowledged_at is not None
        ]
        return reviewed[::-1]

    @property
    def is_active(self) -> bool:
        return self.episode.status == EpisodeStatus.ACTIVE

    @property
    def latest_comment(self) -> Comment | None:
        return self.comments[-1] if self.comments else None

    def panel(self, instrument_id: str) -> InstrumentPanel | None:
        return next((p for p in self.panels if p.instrument.id == instrument_id), None)


def episode_views(episodes: QuerySet[Episode], user: User) -> list[EpisodeView]:
    """Views of ``episodes`` (scoped by the access layer), newest first."""
    episodes = list(
        episodes.select_related("client", "therapist", "plan")
        .prefetch_related("plan__entries")  # PlanEntry.Meta orders by position
        .order_by("-started_on", "pk")
    )
    if not episodes:
        return []
    hidden = hidden_instrument_ids(user)
    visible = visible_instruments(hidden)
    records = load_records(episodes, user, all_answers=True)
    comments, staff_opened = _submissions(episodes)
    talk_requests = open_talk_requests(user, episodes)
    model = expected_response_for(user.organisation)
    rules = flag_rules()

    views = []
    for episode in episodes:
        record = records[episode.pk]
        flags = shown_flags(record, visible, rules, model, talk_requests.get(episode.pk, []))
        read = {follow_up.alert.pk: follow_up for follow_up in follow_ups(user, record.alerts)}
        flags = [
            replace(
                f,
                may_review=may_follow_up(user, f.alert or f.code),
                follow_up=read[f.alert.pk] if f.acknowledged else None,
            )
            for f in flags
        ]
        markers = [
            replace(m, may_review=may_follow_up(user, m.alert))
            for m in risk_markers(record, visible, flags)
        ]
        views.append(
            EpisodeView(
                episode=episode,
                record=record,
                flags=flags,
                panels=_panels(record, visible, model, rules.not_on_track_instrument),
                comments=comments.get(episode.pk, []),
                plan_entries=list(episode.plan.entries.all()),
                hidden=hidden,
                staff_opened=staff_opened.get(episode.pk, {}),
                markers=markers,
                risk_histories=risk_histories(record, visible),
                alert_follow_ups=list(read.values()),
            )
        )
    return views


def _panels(
    record: EpisodeRecord,
    visible: dict[str, Instrument],
    model: Any,
    etr_instrument_id: str,
) -> list[InstrumentPanel]:
    from rapport.psychometrics import expected_trajectory

    panels = []
    # Relationship measures first (the point of Rapport), then outcomes, by id.
    order = {"trust": 0, "alliance": 1, "openness": 2}
    shown = [visible[i] for i in record.scores if i in visible]
    for instrument in sorted(shown, key=lambda i: (order.get(i.construct, 9), i.id)):
        instrument_id = instrument.id
        scores = record.completed(instrument_id)
        if not scores:
            continue
        band = None
        if model is not None and instrument_id == etr_instrument_id and scores[0].session == 1:
            band = expected_trajectory(model, scores[0].total, [row.session for row in scores])
        panels.append(
            InstrumentPanel(
                instrument=instrument,
                scores=scores,
                chart=score_chart(instrument, scores, band),
                items=item_moves(instrument, scores),
            )
        )
    return panels


def item_moves(instrument: Instrument, scores: list[AdministrationRow]) -> list[ItemMove]:
    """Each item's answer at the previous and the latest check-in, with the change."""
    if not scores:
        return []
    latest = scores[-1].answers
    previous = scores[-2].answers if len(scores) > 1 else {}
    moves = []
    for number, item in enumerate(instrument.items, start=1):
        before, now = previous.get(item.id), latest.get(item.id)
        both = isinstance(now, int | float) and isinstance(before, int | float)
        change = now - before if both else None
        moves.append(
            ItemMove(
                number=number,
                text=localized(item.text, item.id),
                previous=_answer_label(item, before),
                latest=_answer_label(item, now),
                change=change,
            )
        )
    return moves


def _answer_label(item: Any, value: Any) -> str:
    if value is None:
        return "—"
    label = next((localized(o.label, "") for o in item.options if o.value == value), None)
    return f"{fmt(value)} ({label})" if label and label != str(value) else fmt(value)


def _submissions(
    episodes: list[Episode],
) -> tuple[dict[int, list[Comment]], dict[int, dict[int, str]]]:
    """Per episode: the clients' comments, and the sessions completed on staff-opened links."""
    # Comments are encrypted, so empty ones can only be skipped after decryption.
    comments: dict[int, list[Comment]] = {}
    staff_opened: dict[int, dict[int, str]] = {}
    submissions = (
        CheckinSubmission.objects.filter(session__episode__in=[e.pk for e in episodes])
        .select_related("session", "link")
        .only(
            "comment",
            "submitted_at",
            "staff_opened",
            "session__number",
            "session__episode_id",
            "link__channel",
        )
        .order_by("submitted_at", "pk")
    )
    for submission in submissions:
        episode_id, number = submission.session.episode_id, submission.session.number
        text = (submission.comment or "").strip()
        if text:
            comments.setdefault(episode_id, []).append(
                Comment(number, submission.submitted_at, text)
            )
        if submission.staff_opened:
            staff_opened.setdefault(episode_id, {})[number] = _staff_opened_place(
                submission.link.channel
            )
    return comments, staff_opened


def _staff_opened_place(channel: str) -> str:
    if channel == Channel.KIOSK:
        return gettext("completed on the clinic tablet")
    return gettext("completed on a link opened by staff")
