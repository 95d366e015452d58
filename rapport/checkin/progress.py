"""A client's own progress, as the client reads it: after a check-in and in "review together".

Built for one episode only (the check-in link's, or the one staff opened for review), in
the client's language, from completed administrations of the instruments the access
layer lets this client see (:func:`rapport.security.access.may_show_in_client_progress`).
Nothing here reads notes, flags, alerts or any other client's record: a client's view
shows their scores, the range each falls in explained in plain words, and, for the
review, which trust and alliance answers changed since the check-in before.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from rapport.clinic.models import Administration, AdministrationStatus, Episode
from rapport.core.instruments import instruments
from rapport.instruments import Instrument, Item
from rapport.security.access import RELATIONSHIP_CONSTRUCTS, may_show_in_client_progress
from rapport.workspace.charts import Chart, client_score_chart, fmt, reliable_change
from rapport.workspace.titles import localized


@dataclass(frozen=True)
class InstrumentProgress:
    """One questionnaire's scores over the episode, with the words that explain them."""

    title: str
    explanation: list[str]
    chart: Chart


@dataclass(frozen=True)
class ItemMove:
    """One trust or alliance answer that changed between the last two check-ins."""

    questionnaire: str
    text: str
    before: str
    after: str
    went_up: bool


@dataclass(frozen=True)
class ClientProgress:
    questionnaires: list[InstrumentProgress] = field(default_factory=list)
    moves: list[ItemMove] = field(default_factory=list)
    shows_relationship: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.questionnaires


def shown_administrations(episode: Episode) -> dict[str, list[Administration]]:
    """Completed, scored administrations of ``episode`` the client may see, per instrument.

    In session order. Instruments no longer installed are left out (their texts and
    audience cannot be read).
    """
    client = episode.client
    organisation = client.organisation
    registry = instruments()
    by_instrument: dict[str, list[Administration]] = defaultdict(list)
    completed = (
        Administration.objects.filter(
            session__episode=episode,
            status=AdministrationStatus.COMPLETED,
            total__isnull=False,
        )
        .select_related("session")
        .order_by("session__number", "completed_at")
    )
    for administration in completed:
        instrument = registry.get(administration.instrument_id)
        if instrument is not None and may_show_in_client_progress(instrument, organisation, client):
            by_instrument[administration.instrument_id].append(administration)
    return dict(by_instrument)


def build(episode: Episode) -> ClientProgress:
    """The client's progress in ``episode``, worded in the active language."""
    registry = instruments()
    shown = shown_administrations(episode)
    questionnaires = [
        _questionnaire(registry[instrument_id], administrations)
        for instrument_id, administrations in shown.items()
    ]
    moves = [
        move
        for instrument_id, administrations in shown.items()
        if registry[instrument_id].construct in RELATIONSHIP_CONSTRUCTS
        for move in _moves(registry[instrument_id], administrations)
    ]
    return ClientProgress(
        questionnaires=questionnaires,
        moves=moves,
        shows_relationship=any(
            registry[instrument_id].construct in RELATIONSHIP_CONSTRUCTS for instrument_id in shown
        ),
    )


def _questionnaire(
    instrument: Instrument, administrations: list[Administration]
) -> InstrumentProgress:
    title = localized(instrument.title, "")
    low, high = instrument.score_range
    rows: list[tuple[str, ...]] = []
    for administration in administrations:
        band = instrument.band_for(administration.total)
        rows.append(
            (
                str(administration.session.number),
                _date(administration),
                fmt(administration.total),
                localized(band.text, "") if band is not None else "—",
            )
        )
    explanation = _explanation(instrument, administrations)
    first, last = administrations[0], administrations[-1]
    description = " ".join(explanation)
    if len(administrations) > 1:
        description = (
            _(
                "Your scores from %(first)s at session %(first_session)s to %(last)s at "
                "session %(last_session)s."
            )
            % {
                "first": fmt(first.total),
                "first_session": first.session.number,
                "last": fmt(last.total),
                "last_session": last.session.number,
            }
            + " "
            + description
        )
    chart = client_score_chart(
        instrument,
        [(a.session.number, float(a.total or 0)) for a in administrations],
        title=title,
        session_label=_("Session"),
        score_label=_("Score (%(low)s\u2013%(high)s)") % {"low": fmt(low), "high": fmt(high)},
        description=description,
        columns=(_("Session"), _("Date"), _("Score"), _("Range")),
        rows=rows,
    )
    return InstrumentProgress(title=title, explanation=explanation, chart=chart)


def _date(administration: Administration) -> str:
    when = administration.completed_at
    return formats.date_format(timezone.localtime(when), "DATE_FORMAT") if when else "—"


def _explanation(instrument: Instrument, administrations: list[Administration]) -> list[str]:
    """Plain sentences: the latest score, the range it falls in, the change since the start."""
    low, high = instrument.score_range
    first, last = administrations[0], administrations[-1]
    sentences = [
        _("Your latest score is %(score)s, on a scale from %(low)s to %(high)s.")
        % {"score": fmt(last.total), "low": fmt(low), "high": fmt(high)}
    ]
    band = instrument.band_for(last.total)
    if band is not None:
        sentences.append(
            _("Scores from %(lower)s to %(upper)s are in the range called “%(band)s”.")
            % {
                "lower": fmt(band.lower),
                "upper": fmt(band.upper),
                "band": localized(band.text, ""),
            }
        )
    if instrument.construct in RELATIONSHIP_CONSTRUCTS:
        sentences.append(_("Higher scores mean you felt better about how therapy is going."))
    elif instrument.higher_is_better:
        sentences.append(_("Higher scores mean you are doing better."))
    else:
        sentences.append(_("Lower scores mean fewer difficulties."))
    if len(administrations) > 1 and instrument.construct not in RELATIONSHIP_CONSTRUCTS:
        change = reliable_change(instrument, first.total, last.total)
        if change == "improved":
            sentences.append(
                _(
                    "Since your first check-in your score has changed by more than the usual "
                    "ups and downs: a real improvement."
                )
            )
        elif change == "deteriorated":
            sentences.append(
                _(
                    "Since your first check-in your score has changed for the worse by more "
                    "than the usual ups and downs. This is worth talking about with your "
                    "therapist."
                )
            )
        elif instrument.reliable_change:
            sentences.append(
                _(
                    "Since your first check-in the change is within the usual ups and downs of "
                    "this questionnaire."
                )
            )
    return sentences


def _moves(instrument: Instrument, administrations: list[Administration]) -> list[ItemMove]:
    """The items whose answer differs between the last two check-ins of ``instrument``."""
    if len(administrations) < 2:
        return []
    before, after = administrations[-2].answers or {}, administrations[-1].answers or {}
    moves = []
    for item in instrument.items:
        old, new = before.get(item.id), after.get(item.id)
        if old is None or new is None or old == new:
            continue
        moves.append(
            ItemMove(
                questionnaire=localized(instrument.title, ""),
                text=localized(item.text, ""),
                before=_answer_text(item, old),
                after=_answer_text(item, new),
                went_up=float(new) > float(old),
            )
        )
    return moves


def _answer_text(item: Item, value) -> str:
    """An answer as the client chose it: its number, with its words where it has any."""
    number = fmt(float(value))
    for option in item.options:
        if float(option.value) == float(value):
            label = localized(option.label, "")
            return number if label in ("", number) else f"{number} ({label})"
    return number
