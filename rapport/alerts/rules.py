"""Caseload flags: which clients need attention first, and why, in one sentence each.

Pure Python (no Django). :func:`evaluate` takes one client's history — completed scores
per instrument, sessions and check-in outcomes — and returns the raised flags in order of
urgency: safety > alliance rupture > low or falling trust > not on track > engagement.
Thresholds come from :class:`FlagRules` (defaults in ``defaults.yaml``), never from code.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol, TypeGuard

import yaml

from rapport.alerts.wording import _, language, ngettext, number_as_read
from rapport.instruments.model import RELATIONSHIP_CONSTRUCTS

DEFAULTS_FILE = Path(__file__).with_name("defaults.yaml")
SCHEMA = "rapport-flag-rules/1"


class FlagKind(IntEnum):
    """Flag kinds; the value is the urgency rank (1 = most urgent)."""

    SAFETY = 1
    RUPTURE = 2
    TRUST = 3
    NOT_ON_TRACK = 4
    ENGAGEMENT = 5


@dataclass(frozen=True)
class Flag:
    kind: FlagKind
    message: str
    session: int | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.kind.name.lower()


@dataclass(frozen=True)
class Score:
    """One completed administration: its session, total and raised scoring flags."""

    session: int
    total: float | None
    flags: tuple[str, ...] = ()
    answers: Mapping[str, Any] = field(default_factory=dict)


class _Totalled(Protocol):
    """A :class:`Score` known to have a total (what the score-trend rules compare)."""

    @property
    def session(self) -> int: ...

    @property
    def total(self) -> float: ...


def _has_total(score: Score) -> TypeGuard[_Totalled]:
    return score.total is not None


def _totalled(history: ClientHistory, instrument_id: str) -> list[_Totalled]:
    """The instrument's scores that have a total, in session order."""
    return [score for score in history.scores.get(instrument_id, ()) if _has_total(score)]


@dataclass(frozen=True)
class SessionRecord:
    number: int
    status: str  # scheduled / attended / missed / cancelled


@dataclass(frozen=True)
class ClientHistory:
    """What the rules look at for one client's current episode.

    ``scores`` maps instrument id to completed scores in session order;
    ``checkins`` lists the statuses of past administrations in session order
    (completed / expired / declined), ``sessions`` the sessions in number order.
    """

    scores: Mapping[str, Sequence[Score]] = field(default_factory=dict)
    sessions: Sequence[SessionRecord] = ()
    checkins: Sequence[str] = ()


class FlagRulesError(ValueError):
    """A flag-rules file is not usable; the message names the file and the setting."""


@dataclass(frozen=True)
class FlagRules:
    """Thresholds for every rule (see docs/flags.md)."""

    safety: bool = True
    rupture: bool = True
    rupture_instrument: str = "rapport_alliance"
    rupture_drop: float = 6.0
    rupture_window: int = 3
    trust: bool = True
    trust_instrument: str = "rapport_trust"
    trust_low: float = 4.0
    trust_drop: float = 1.0
    not_on_track: bool = True
    not_on_track_instrument: str = "phq9"
    engagement: bool = True
    missed_in_a_row: int = 2
    unanswered_in_a_row: int = 2

    @classmethod
    def from_file(cls, path: Path | str = DEFAULTS_FILE) -> FlagRules:
        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as error:
            raise FlagRulesError(f"{path}: cannot be read as YAML: {error}") from None
        return cls.from_mapping(data, source=str(path))

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<rules>") -> FlagRules:
        if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
            raise FlagRulesError(f"{source}: schema: must be {SCHEMA!r}")
        values: dict[str, Any] = {}
        for section, names in _SECTIONS.items():
            settings = data.get(section, {})
            if not isinstance(settings, Mapping):
                raise FlagRulesError(f"{source}: {section}: must be a mapping")
            unknown = set(settings) - set(names)
            if unknown:
                raise FlagRulesError(f"{source}: {section}.{sorted(unknown)[0]}: unknown setting")
            for key, attribute in names.items():
                if key in settings:
                    values[attribute] = _checked(
                        source, f"{section}.{key}", settings[key], attribute
                    )
        return cls(**values)


_SECTIONS: dict[str, dict[str, str]] = {
    "safety": {"enabled": "safety"},
    "rupture": {
        "enabled": "rupture",
        "instrument": "rupture_instrument",
        "drop": "rupture_drop",
        "window": "rupture_window",
    },
    "trust": {
        "enabled": "trust",
        "instrument": "trust_instrument",
        "low": "trust_low",
        "drop": "trust_drop",
    },
    "not_on_track": {"enabled": "not_on_track", "instrument": "not_on_track_instrument"},
    "engagement": {
        "enabled": "engagement",
        "missed_in_a_row": "missed_in_a_row",
        "unanswered_in_a_row": "unanswered_in_a_row",
    },
}


def _checked(source: str, name: str, value: Any, attribute: str) -> Any:
    expected = type(getattr(FlagRules(), attribute))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise FlagRulesError(f"{source}: {name}: must be {expected.__name__}, got {value!r}")
    if expected in (int, float) and value <= 0:
        raise FlagRulesError(f"{source}: {name}: must be positive, got {value!r}")
    return value


def evaluate(
    history: ClientHistory,
    instruments: Mapping[str, Any],
    rules: FlagRules | None = None,
    expected_response: Any = None,
) -> list[Flag]:
    """Return the client's flags, most urgent first.

    Parameters
    ----------
    history : ClientHistory
    instruments : mapping of instrument id to :class:`rapport.instruments.Instrument`
    rules : FlagRules, optional
        Thresholds; the shipped defaults when omitted.
    expected_response : ExpectedResponseModel, optional
        The clinic's fitted expected-treatment-response model for the not-on-track
        instrument (:mod:`rapport.psychometrics.trajectories`); without it the
        not-on-track rule is silent.

    Examples
    --------
    >>> from rapport.instruments import load_registry
    >>> history = ClientHistory(scores={"rapport_trust": [Score(1, 6.1), Score(2, 4.3)]})
    >>> [flag.message for flag in evaluate(history, load_registry())]
    ['Trust fell from 6.1 to 4.3 since the last session.']
    """
    rules = rules or DEFAULT_RULES
    flags: list[Flag] = []
    if rules.safety:
        flags += _safety(history, instruments)
    if rules.rupture:
        flags += _rupture(history, instruments, rules)
    if rules.trust:
        flags += _trust(history, rules)
    if rules.not_on_track and expected_response is not None:
        flags += _not_on_track(history, instruments, rules, expected_response)
    if rules.engagement:
        flags += _engagement(history, rules)
    return sorted(flags, key=lambda flag: flag.kind)


def _safety(history: ClientHistory, instruments: Mapping[str, Any]) -> list[Flag]:
    flags = []
    for instrument_id, scores in history.scores.items():
        if not scores or instrument_id not in instruments:
            continue
        latest = scores[-1]
        instrument = instruments[instrument_id]
        for critical in instrument.critical_items:
            if critical.flag not in latest.flags:
                continue
            item = instrument.item(critical.item_id)
            position = instrument.item_ids.index(critical.item_id) + 1
            value = latest.answers.get(critical.item_id)
            label = next(
                (
                    o.label.get(language()) or o.label.get("en", str(o.value))
                    for o in item.options
                    if o.value == value
                ),
                str(value),
            )
            values = {
                "instrument": _title(instrument),
                "position": position,
                "answer": label,
                "session": latest.session,
            }
            if instrument.construct in RELATIONSHIP_CONSTRUCTS:
                # About the therapist, so their supervisor follows it up (docs/safety.md).
                texts = item.text
                values["text"] = texts.get(language()) or texts.get("en", critical.item_id)
                message = _(
                    "%(instrument)s item %(position)s (“%(text)s”) answered “%(answer)s” at "
                    "session %(session)s: a concern about safety with the therapist, which "
                    "their supervisor follows up."
                )
            else:
                message = _(
                    "%(instrument)s item %(position)s answered “%(answer)s” at "
                    "session %(session)s: check safety before or at the next contact."
                )
            flags.append(
                Flag(
                    FlagKind.SAFETY,
                    message % values,
                    latest.session,
                    {"instrument": instrument_id, "item": critical.item_id, "value": value},
                )
            )
        flags += _unanswered_risk_items(instrument_id, instrument, latest)
    return flags


def _unanswered_risk_items(instrument_id: str, instrument: Any, latest: Score) -> list[Flag]:
    """A risk item left blank (imports, the API) is unknown risk, not an all-clear.

    Not acknowledgeable like an answer (no ``item`` detail): it clears when a later
    administration answers the item.
    """
    flags = []
    for critical in instrument.critical_items:
        if not critical.flag_if_missing or critical.missing_flag not in latest.flags:
            continue
        texts = instrument.item(critical.item_id).text
        text = texts.get(language()) or texts.get("en", critical.item_id)
        position = instrument.item_ids.index(critical.item_id) + 1
        flags.append(
            Flag(
                FlagKind.SAFETY,
                _(
                    "%(instrument)s item %(position)s (“%(text)s”) was not answered "
                    "at session %(session)s, so the risk it asks about is unknown: ask about it "
                    "before or at the next contact."
                )
                % {
                    "instrument": _title(instrument),
                    "position": position,
                    "text": text,
                    "session": latest.session,
                },
                latest.session,
                {"instrument": instrument_id, "unanswered_item": critical.item_id},
            )
        )
    return flags


def _rupture(
    history: ClientHistory, instruments: Mapping[str, Any], rules: FlagRules
) -> list[Flag]:
    scores = _totalled(history, rules.rupture_instrument)
    if not scores:
        return []
    latest = scores[-1]
    instrument = instruments.get(rules.rupture_instrument)
    previous = scores[-1 - rules.rupture_window : -1]
    if previous:
        level = sum(s.total for s in previous) / len(previous)
        if level - latest.total >= rules.rupture_drop:
            last = previous[-1].total
            if latest.total < last:
                message = ngettext(
                    # One earlier score is the last session's: nothing more to say.
                    "Alliance fell from %(from)s to %(to)s since the last session.",
                    "Alliance fell from %(from)s to %(to)s since the last session; the "
                    "previous %(count)s scores averaged %(level)s.",
                    len(previous),
                ) % {
                    "from": number_as_read(last),
                    "to": number_as_read(latest.total),
                    "level": number_as_read(level),
                    "count": len(previous),
                }
            else:
                # Up (or level) since the last session but still far below the recent
                # level: saying "fell from 28 to 30" would not be true.
                message = ngettext(
                    "Alliance is %(score)s at session %(session)s, %(below)s below the "
                    "previous score of %(level)s.",
                    "Alliance is %(score)s at session %(session)s, %(below)s below its "
                    "recent level of %(level)s (mean of the previous %(count)s scores).",
                    len(previous),
                ) % {
                    "score": number_as_read(latest.total),
                    "session": latest.session,
                    "below": number_as_read(level - latest.total),
                    "level": number_as_read(level),
                    "count": len(previous),
                }
            return [
                Flag(
                    FlagKind.RUPTURE,
                    message,
                    latest.session,
                    {"from": last, "to": latest.total, "level": level},
                )
            ]
    if instrument is not None and instrument.is_clinical(latest.total):
        return [
            Flag(
                FlagKind.RUPTURE,
                _(
                    "Alliance is %(score)s at session %(session)s, in the low range (cutoff "
                    "%(cutoff)s)."
                )
                % {
                    "score": number_as_read(latest.total),
                    "session": latest.session,
                    "cutoff": number_as_read(instrument.clinical_cutoff),
                },
                latest.session,
                {"to": latest.total, "cutoff": instrument.clinical_cutoff},
            )
        ]
    return []


def _trust(history: ClientHistory, rules: FlagRules) -> list[Flag]:
    scores = _totalled(history, rules.trust_instrument)
    if not scores:
        return []
    latest = scores[-1]
    if len(scores) > 1 and scores[-2].total - latest.total >= rules.trust_drop:
        return [
            Flag(
                FlagKind.TRUST,
                _("Trust fell from %(from).1f to %(to).1f since the last session.")
                % {"from": scores[-2].total, "to": latest.total},
                latest.session,
                {"from": scores[-2].total, "to": latest.total},
            )
        ]
    if latest.total <= rules.trust_low:
        return [
            Flag(
                FlagKind.TRUST,
                _("Trust is low: %(score).1f on the 1–7 scale at session %(session)s.")  # noqa: RUF001 - the en dash of a range
                % {"score": latest.total, "session": latest.session},
                latest.session,
                {"to": latest.total},
            )
        ]
    return []


def _not_on_track(
    history: ClientHistory,
    instruments: Mapping[str, Any],
    rules: FlagRules,
    model: Any,
) -> list[Flag]:
    from rapport.psychometrics.trajectories import expected_trajectory, is_off_track

    instrument = instruments.get(rules.not_on_track_instrument)
    scores = _totalled(history, rules.not_on_track_instrument)
    if instrument is None or len(scores) < 2 or scores[0].session != 1:
        return []
    intake, latest = scores[0], scores[-1]
    if not is_off_track(
        model, intake.total, latest.session, latest.total, instrument.higher_is_better
    ):
        return []
    band = expected_trajectory(model, intake.total, [latest.session]).iloc[0]
    # "Below"/"above", not "at most"/"at least": the flag is raised at the limit (the
    # reliable-change fallback counts the boundary), and a limit rounded for reading can
    # equal the score, which "at most 24" beside "is 24" would contradict.
    if instrument.higher_is_better:
        limit = band["lower"]
        wording = _(
            "%(instrument)s is %(score)s at session %(session)s; from an intake of %(intake)s "
            "clients are expected to be above %(limit)s by now."
        )
    else:
        limit = band["upper"]
        wording = _(
            "%(instrument)s is %(score)s at session %(session)s; from an intake of %(intake)s "
            "clients are expected to be below %(limit)s by now."
        )
    return [
        Flag(
            FlagKind.NOT_ON_TRACK,
            wording
            % {
                "instrument": _title(instrument),
                "score": number_as_read(latest.total),
                "session": latest.session,
                "intake": number_as_read(intake.total),
                "limit": number_as_read(limit),
            },
            latest.session,
            {"intake": intake.total, "score": latest.total, "limit": float(limit)},
        )
    ]


def _engagement(history: ClientHistory, rules: FlagRules) -> list[Flag]:
    past = [s for s in history.sessions if s.status != "scheduled"]
    missed = _trailing(past, lambda s: s.status in ("missed", "cancelled"))
    if missed >= rules.missed_in_a_row:
        return [
            Flag(
                FlagKind.ENGAGEMENT,
                ngettext(
                    "Missed or cancelled the last session.",
                    "Missed or cancelled the last %(count)s sessions.",
                    missed,
                )
                % {"count": missed},
                past[-1].number,
                {"missed": missed},
            )
        ]
    unanswered = _trailing(history.checkins, lambda status: status in ("expired", "declined"))
    if unanswered >= rules.unanswered_in_a_row:
        return [
            Flag(
                FlagKind.ENGAGEMENT,
                ngettext(
                    "The last check-in was not completed (expired or declined).",
                    "The last %(count)s check-ins were not completed (expired or declined).",
                    unanswered,
                )
                % {"count": unanswered},
                None,
                {"unanswered": unanswered},
            )
        ]
    return []


def _trailing(items: Sequence[Any], predicate: Any) -> int:
    count = 0
    for item in reversed(items):
        if not predicate(item):
            break
        count += 1
    return count


def _title(instrument: Any) -> str:
    """The instrument's name as clinicians say it: the abbreviation in brackets, if any."""
    title: str = instrument.title.get(language()) or instrument.title.get("en") or instrument.id
    if title.endswith(")") and "(" in title:
        return title[title.rindex("(") + 1 : -1]
    return title


DEFAULT_RULES = FlagRules.from_file(DEFAULTS_FILE)
