"""The flags a therapist sees: the rule flags of rapport.alerts joined with stored alerts.

The rules (:func:`rapport.alerts.evaluate`) say what is wrong now; the check-in app's
:class:`~rapport.checkin.models.Alert` rows say what was raised and whether someone has
acknowledged it. A safety flag is matched to its alert by session and item code, so an
acknowledged safety answer stays visible (with who acknowledged it) but no longer counts
as open; an open alert the rules no longer raise (a later check-in was clean) still
shows until someone acknowledges it.

A client's "I'd like to talk about how therapy is going" (:class:`TalkRequest`, read
through the access layer by the caller) is a relationship flag in the rupture tier, open
until a clinician marks it discussed.

Acknowledging is not the end of a risk: :func:`risk_markers` keeps a "risk reviewed"
marker on an episode while the latest check-in still endorses the critical item (or left
it unanswered) and nobody has recorded the risk as resolved (docs/safety.md).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.alerts import Flag, FlagKind, FlagRules, evaluate
from rapport.checkin.acknowledgement import OUTCOMES
from rapport.checkin.models import Alert, AlertKind, TalkRequest
from rapport.core.instruments import answer_about_the_relationship
from rapport.instruments import Instrument
from rapport.workspace.follow_up import FollowUp
from rapport.workspace.records import EpisodeRecord
from rapport.workspace.titles import localized, short_title

# Rank of an episode with nothing open: after every real flag.
NO_OPEN_FLAG = max(FlagKind) + 1


@dataclass(frozen=True)
class ShownFlag:
    kind: FlagKind
    message: str
    session: int | None = None
    # The critical-item code ("critical:phq9_9") of a safety flag; empty for flags that
    # are not alerts (rupture, trust, ...), which are not acknowledged one by one.
    code: str = ""
    alert: Alert | None = None
    # What the rule saw (e.g. {"value": 2} for a safety answer); see rapport.alerts.
    details: Mapping[str, Any] = field(default_factory=dict)
    # When the flag's alert was raised or, without one, its check-in completed (None when
    # unknown): the caseload puts the newest first within a tier.
    raised_at: datetime.datetime | None = None
    # The client's request to talk about how therapy is going, for a flag that is one.
    talk_request: TalkRequest | None = None
    # Whether the reader may record its follow-up and, once acknowledged, what they may
    # read of it (set for the client page by rapport.workspace.client_record from the
    # access layer's may_follow_up).
    may_review: bool = False
    follow_up: FollowUp | None = None

    @property
    def name(self) -> str:
        return self.kind.name.lower()

    @property
    def label(self) -> str:
        return _("Asked to talk") if self.talk_request is not None else LABELS[self.kind]

    @property
    def acknowledged(self) -> bool:
        return self.alert is not None and self.alert.acknowledged_at is not None

    @property
    def acknowledgeable(self) -> bool:
        return bool(self.ack_key) and not self.acknowledged

    @property
    def ack_key(self) -> str:
        """What the acknowledge form posts: the stored alert, or the safety answer itself.

        A safety flag from data that raised no alert row (imports, synthetic clinics,
        trust items) is acknowledged by item and session; the alert row is created then.
        """
        if self.alert is not None:
            return f"alert:{self.alert.public_id}"
        if self.code and self.session is not None:
            return f"{self.code}@{self.session}"
        return ""

    @property
    def is_open(self) -> bool:
        return not self.acknowledged

    @property
    def about_the_relationship(self) -> bool:
        """A safety answer about the relationship with the therapist, which the
        therapist's supervisor is told of and follows up (docs/safety.md)."""
        if self.kind != FlagKind.SAFETY:
            return False
        if self.alert is not None:
            return self.alert.about_the_relationship
        return answer_about_the_relationship(self.code)

    @property
    def outcome_choices(self) -> list[tuple[str, str]]:
        """The outcomes the acknowledgement form offers for this safety answer."""
        return [(outcome.value, outcome.label) for outcome in OUTCOMES[self.about_the_relationship]]

    @property
    def notified_nobody(self) -> str:
        """Why nobody was told of this safety answer ("" when its alert was raised and
        sent, or it is not a safety answer), so that no reader takes silence for a
        notice: answers that did not come from a check-in raise no alert, and neither
        did relationship answers before they were made to (docs/safety.md)."""
        if self.kind != FlagKind.SAFETY or not self.code or self.alert is not None:
            return ""
        if self.about_the_relationship:
            return _(
                "Nobody was notified of this answer: it was not given in a check-in, or was "
                "given before answers about the relationship raised alerts."
            )
        return _(
            "Nobody was notified of this answer: it was not given in a check-in (imported "
            "or example records)."
        )


LABELS = {
    FlagKind.SAFETY: gettext_lazy("Safety"),
    FlagKind.RUPTURE: gettext_lazy("Alliance rupture"),
    FlagKind.TRUST: gettext_lazy("Trust"),
    FlagKind.NOT_ON_TRACK: gettext_lazy("Not on track"),
    FlagKind.ENGAGEMENT: gettext_lazy("Engagement"),
}


def shown_flags(
    record: EpisodeRecord,
    instruments: Mapping[str, Instrument],
    rules: FlagRules,
    expected_response: Any = None,
    talk_requests: Sequence[TalkRequest] = (),
) -> list[ShownFlag]:
    """The episode's flags, most urgent first; ties keep the rules' order.

    ``talk_requests``: the episode's open requests to talk about how therapy is going
    that the reader may see (:func:`rapport.checkin.talk_requests.open_talk_requests`);
    each is a flag of the rupture tier, after the rule's rupture flag.
    """
    alerts = {(alert.code, alert.session_number): alert for alert in record.alerts}
    flags = evaluate(record.history(), instruments, rules, expected_response)
    shown: list[ShownFlag] = []
    matched: set[int] = set()
    for flag in flags:
        code, session = _alert_key(flag)
        alert = alerts.get((code, session)) if code else None
        if alert is not None:
            matched.add(alert.pk)
        raised_at = alert.raised_at if alert is not None else record.checkin_time(flag.session)
        shown.append(
            ShownFlag(flag.kind, flag.message, flag.session, code, alert, flag.details, raised_at)
        )
    for alert in record.alerts:
        if alert.pk in matched or alert.acknowledged_at is not None:
            continue
        shown.append(_from_alert(alert, instruments))
    stop_alerted = any(alert.kind == AlertKind.CHECKINS_STOPPED for alert in record.alerts)
    if record.checkins_stopped_at and not stop_alerted:
        # The client used "stop check-ins"; the check-in app raises an alert for it, but a
        # stop recorded without one (imports, older data) must not disappear silently.
        when = formats.date_format(record.checkins_stopped_at, _("j M Y"))
        shown.append(
            ShownFlag(
                FlagKind.ENGAGEMENT,
                _("Stopped check-ins on %(date)s.") % {"date": when},
                raised_at=record.checkins_stopped_at,
            )
        )
    shown.extend(_from_talk_request(talk_request) for talk_request in talk_requests)
    return sorted(shown, key=lambda flag: (flag.acknowledged, flag.kind))


def _from_talk_request(talk_request: TalkRequest) -> ShownFlag:
    number = talk_request.session.number
    when = formats.date_format(talk_request.raised_at, _("j M Y"))
    message = _(
        "The client asked to talk about how therapy is going (check-in for session "
        "%(session)d, %(date)s)."
    ) % {"session": number, "date": when}
    return ShownFlag(
        FlagKind.RUPTURE,
        message,
        number,
        raised_at=talk_request.raised_at,
        talk_request=talk_request,
    )


def urgency(flags: list[ShownFlag], markers: list[RiskMarker] = ()) -> int:
    """The rank of the most urgent open flag (1 = safety), or :data:`NO_OPEN_FLAG`.

    A risk marker ranks as safety: an acknowledged risk that the latest check-in still
    endorses keeps the client in the safety tier (below the unacknowledged ones).
    """
    ranks = [flag.kind for flag in flags if flag.is_open]
    if markers:
        ranks.append(FlagKind.SAFETY)
    return min(ranks, default=NO_OPEN_FLAG)


def risk_severity(
    flags: list[ShownFlag], markers: list[RiskMarker], instruments: Mapping[str, Instrument]
) -> float:
    """How severe the standing risk answers are: the highest :meth:`RiskItem.severity`
    among open safety flags and markers (0 when there is none)."""
    severities = [marker.severity for marker in markers]
    for flag in flags:
        if flag.kind == FlagKind.SAFETY and flag.is_open and flag.code:
            found = risk_item(flag.code, instruments)
            if found is not None:
                severities.append(found.severity(flag.details.get("value")))
    return max(severities, default=0)


def _alert_key(flag: Flag) -> tuple[str, int | None]:
    if flag.kind == FlagKind.SAFETY and "item" in flag.details:
        return f"critical:{flag.details['item']}", flag.session
    return "", None


def _from_alert(alert: Alert, instruments: Mapping[str, Instrument]) -> ShownFlag:
    when = formats.date_format(alert.raised_at, _("j M Y"))
    if alert.kind == AlertKind.CHECKINS_STOPPED:
        return ShownFlag(
            FlagKind.ENGAGEMENT,
            _("Stopped check-ins on %(date)s; not yet acknowledged.") % {"date": when},
            alert.session_number,
            "",
            alert,
            raised_at=alert.raised_at,
        )
    found = risk_item(alert.code, instruments)
    where = found.label if found else _("A critical item")
    if alert.session_number:
        message = _(
            "%(item)s was answered as a risk at session %(session)s (%(date)s); the alert is "
            "not yet acknowledged."
        ) % {"item": where, "session": alert.session_number, "date": when}
    else:
        message = _(
            "%(item)s was answered as a risk (%(date)s); the alert is not yet acknowledged."
        ) % {"item": where, "date": when}
    return ShownFlag(
        FlagKind.SAFETY,
        message,
        alert.session_number,
        alert.code,
        alert,
        raised_at=alert.raised_at,
    )


@dataclass(frozen=True)
class RiskItem:
    """A critical item named as clinicians say it ("PHQ-9 item 9"), from its flag code."""

    instrument: Instrument
    item: Any
    position: int

    @property
    def label(self) -> str:
        return _("%(instrument)s item %(number)d") % {
            "instrument": short_title(self.instrument),
            "number": self.position,
        }

    def severity(self, value: Any) -> float:
        """How far ``value`` lies into the risk range: 1 at its edge, more beyond it.

        PHQ-9 item 9 (risk above 0) gives 1 for "Several days" and 3 for "Nearly every
        day"; "I felt safe" (risk at 2 or below) gives 1 for 2 and 2 for 1. 0 for an
        answer outside the range or no answer.
        """
        rule = next((c for c in self.instrument.critical_items if c.item_id == self.item.id), None)
        if rule is None or not isinstance(value, int | float) or not rule.matches(value):
            return 0
        if rule.operator in (">", ">="):
            return value - rule.value + (1 if rule.operator == ">=" else 0)
        if rule.operator in ("<", "<="):
            return rule.value - value + (1 if rule.operator == "<=" else 0)
        return 1

    def answer_words(self, value: Any) -> str:
        """The answer as the client saw it ("Several days"); "not answered" for None."""
        if value is None:
            return _("not answered")
        label = next((localized(o.label, "") for o in self.item.options if o.value == value), None)
        return label or str(value)


def risk_item(code: str, instruments: Mapping[str, Instrument]) -> RiskItem | None:
    """The item a code such as ``critical:phq9_9`` names, if the user may see its instrument."""
    item_id = code.removeprefix("critical:")
    for instrument in instruments.values():
        if item_id in instrument.item_ids:
            position = instrument.item_ids.index(item_id) + 1
            return RiskItem(instrument, instrument.item(item_id), position)
    return None


@dataclass(frozen=True)
class RiskMarker:
    """An acknowledged risk answer that the latest check-in has not taken back.

    Shown on the caseload and the client page until a later check-in answers the item
    below the risk threshold or a clinician records the risk as resolved.
    """

    alert: Alert
    item: RiskItem
    message: str
    # The latest answer to the item (None when the latest check-in left it unanswered).
    value: Any = None
    # Whether the reader may record the risk as resolved (see ShownFlag.may_review).
    may_review: bool = False

    @property
    def severity(self) -> float:
        return self.item.severity(self.value)

    @property
    def about_the_relationship(self) -> bool:
        """See :attr:`ShownFlag.about_the_relationship`."""
        return self.alert.about_the_relationship

    @property
    def label(self) -> str:
        if self.about_the_relationship:
            return _("Concern about the relationship")
        return _("Risk marker")


def risk_markers(
    record: EpisodeRecord, instruments: Mapping[str, Instrument], flags: list[ShownFlag]
) -> list[RiskMarker]:
    """The episode's "risk reviewed" markers, one per critical item at most.

    Only each item's newest alert counts: an older acknowledged answer is superseded by a
    newer alert, and an item that already has an open safety flag needs no marker.
    """
    open_codes = {flag.code for flag in flags if flag.kind == FlagKind.SAFETY and flag.is_open}
    newest: dict[str, Alert] = {}
    for alert in record.alerts:  # in the order they were raised
        if alert.kind == AlertKind.CRITICAL_ITEM:
            newest[alert.code] = alert
    markers = []
    for code, alert in newest.items():
        if alert.acknowledged_at is None or alert.resolved_at is not None or code in open_codes:
            continue
        found = risk_item(code, instruments)
        rows = record.scores.get(found.instrument.id, []) if found else []
        if not rows:
            continue
        latest = rows[-1]
        value = latest.answers.get(found.item.id)
        later = latest.session > (alert.session_number or 0)
        if later and value is not None and code not in latest.flags:
            continue  # a later check-in answered the item below the risk threshold
        reviewed = formats.date_format(alert.acknowledged_at, _("j M Y"))
        if alert.about_the_relationship:
            message = _relationship_marker_message(
                reviewed, found, latest.session, value, alert, later
            )
        elif not later and value is not None:
            message = _(
                "Risk reviewed on %(date)s — %(item)s endorsed at session %(session)d "
                "(“%(answer)s”); no check-in since."
            ) % {
                "date": reviewed,
                "item": found.label,
                "session": latest.session,
                "answer": found.answer_words(value),
            }
        elif value is None:
            message = _(
                "Risk reviewed on %(date)s. %(item)s was not answered at the last check-in "
                "(session %(session)d), so the risk answered at session %(alert_session)s "
                "still stands."
            ) % {
                "date": reviewed,
                "item": found.label,
                "session": latest.session,
                "alert_session": alert.session_number or "?",
            }
        else:
            message = _(
                "Risk reviewed on %(date)s — %(item)s still endorsed at the last "
                "check-in (session %(session)d: “%(answer)s”)."
            ) % {
                "date": reviewed,
                "item": found.label,
                "session": latest.session,
                "answer": found.answer_words(value),
            }
        markers.append(RiskMarker(alert, found, message, value))
    return markers


def _relationship_marker_message(
    reviewed: str, found: RiskItem, session: int, value: Any, alert: Alert, later: bool
) -> str:
    """A followed-up answer about the relationship that the last check-in did not take
    back, in words that fit it (not a self-harm risk)."""
    if not later and value is not None:
        return _(
            "Followed up on %(date)s — %(item)s was answered “%(answer)s” at session "
            "%(session)d; no check-in since."
        ) % {
            "date": reviewed,
            "item": found.label,
            "session": session,
            "answer": found.answer_words(value),
        }
    if value is None:
        return _(
            "Followed up on %(date)s. %(item)s was not answered at the last check-in "
            "(session %(session)d), so the concern raised at session %(alert_session)s "
            "still stands."
        ) % {
            "date": reviewed,
            "item": found.label,
            "session": session,
            "alert_session": alert.session_number or "?",
        }
    return _(
        "Followed up on %(date)s — %(item)s was still answered “%(answer)s” at the last "
        "check-in (session %(session)d)."
    ) % {
        "date": reviewed,
        "item": found.label,
        "session": session,
        "answer": found.answer_words(value),
    }
