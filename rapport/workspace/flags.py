"""The flags a therapist sees: the rule flags of rapport.alerts joined with stored alerts.

The rules (:func:`rapport.alerts.evaluate`) say what is wrong now; the check-in app's
:class:`~rapport.checkin.models.Alert` rows say what was raised and whether someone has
acknowledged it. A safety flag is matched to its alert by session and item code, so an
acknowledged safety answer stays visible (with who acknowledged it) but no longer counts
as open; an open alert the rules no longer raise (a later check-in was clean) still
shows until someone acknowledges it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils import formats

from rapport.alerts import Flag, FlagKind, FlagRules, evaluate
from rapport.checkin.models import Alert, AlertKind
from rapport.instruments import Instrument
from rapport.workspace.records import EpisodeRecord

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

    @property
    def name(self) -> str:
        return self.kind.name.lower()

    @property
    def label(self) -> str:
        return LABELS[self.kind]

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


LABELS = {
    FlagKind.SAFETY: "Safety",
    FlagKind.RUPTURE: "Alliance rupture",
    FlagKind.TRUST: "Trust",
    FlagKind.NOT_ON_TRACK: "Not on track",
    FlagKind.ENGAGEMENT: "Engagement",
}


def shown_flags(
    record: EpisodeRecord,
    instruments: Mapping[str, Instrument],
    rules: FlagRules,
    expected_response: Any = None,
) -> list[ShownFlag]:
    """The episode's flags, most urgent first; ties keep the rules' order."""
    alerts = {(alert.code, alert.session_number): alert for alert in record.alerts}
    flags = evaluate(record.history(), instruments, rules, expected_response)
    shown: list[ShownFlag] = []
    matched: set[int] = set()
    for flag in flags:
        code, session = _alert_key(flag)
        alert = alerts.get((code, session)) if code else None
        if alert is not None:
            matched.add(alert.pk)
        shown.append(ShownFlag(flag.kind, flag.message, flag.session, code, alert))
    for alert in record.alerts:
        if alert.pk in matched or alert.acknowledged_at is not None:
            continue
        shown.append(_from_alert(alert, instruments))
    stop_alerted = any(alert.kind == AlertKind.CHECKINS_STOPPED for alert in record.alerts)
    if record.checkins_stopped_at and not stop_alerted:
        # The client used "stop check-ins"; the check-in app raises an alert for it, but a
        # stop recorded without one (imports, older data) must not disappear silently.
        when = formats.date_format(record.checkins_stopped_at, "j M Y")
        shown.append(ShownFlag(FlagKind.ENGAGEMENT, f"Stopped check-ins on {when}."))
    return sorted(shown, key=lambda flag: (flag.acknowledged, flag.kind))


def urgency(flags: list[ShownFlag]) -> int:
    """The rank of the most urgent open flag (1 = safety), or :data:`NO_OPEN_FLAG`."""
    return min((flag.kind for flag in flags if flag.is_open), default=NO_OPEN_FLAG)


def _alert_key(flag: Flag) -> tuple[str, int | None]:
    if flag.kind == FlagKind.SAFETY and "item" in flag.details:
        return f"critical:{flag.details['item']}", flag.session
    return "", None


def _from_alert(alert: Alert, instruments: Mapping[str, Instrument]) -> ShownFlag:
    when = formats.date_format(alert.raised_at, "j M Y")
    if alert.kind == AlertKind.CHECKINS_STOPPED:
        return ShownFlag(
            FlagKind.ENGAGEMENT,
            f"Stopped check-ins on {when}; not yet acknowledged.",
            alert.session_number,
            "",
            alert,
        )
    item_id = alert.code.removeprefix("critical:")
    where = next(
        (
            f"{short_title(instrument)} item {instrument.item_ids.index(item_id) + 1}"
            for instrument in instruments.values()
            if item_id in instrument.item_ids
        ),
        "A critical item",
    )
    session = f" at session {alert.session_number}" if alert.session_number else ""
    return ShownFlag(
        FlagKind.SAFETY,
        f"{where} was answered as a risk{session} ({when}); the alert is not yet acknowledged.",
        alert.session_number,
        alert.code,
        alert,
    )


def short_title(instrument: Instrument) -> str:
    """The name clinicians use: the bracketed abbreviation of the title ("PHQ-9"), if any."""
    title = instrument.title.get("en") or instrument.id
    opening = title.rfind("(")
    return title[opening + 1 : -1] if title.endswith(")") and opening >= 0 else title
