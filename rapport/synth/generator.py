"""Generate a synthetic clinic from latent trajectories.

Each client has latent trust, alliance, openness and symptom trajectories over the
sessions of one episode of care. Trajectories include improvement, deterioration,
alliance ruptures (some repaired), disengagement and dropout, and a modest planted trust
gap between groups, so that every analysis in Rapport has something real to find.
Latent values become item answers through a simple response model: each item reads the
latent position on its scale plus an item offset and noise, rounded to the nearest
response option. The noise levels are set so that internal consistency lands near
published values (alpha around .90 for an eight-item trust scale).

Everything is drawn from ``numpy.random.Generator`` streams derived from the seed, the
chunk number and the instrument id, so a seed always gives the same clinic.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import pandas as pd

from rapport.clinic.plans import STANDARD_PLAN, PlanRow
from rapport.synth.names import FAMILY_NAMES, GIVEN_NAMES

CHUNK_SIZE = 2000
SITES = ("Main clinic", "Eastside office")

RACE_CODES = np.array(
    [
        "white",
        "black",
        "hispanic_latino",
        "asian",
        "middle_eastern_north_african",
        "american_indian_alaska_native",
        "native_hawaiian_pacific_islander",
        "another",
    ]
)
RACE_WEIGHTS = np.array([0.50, 0.20, 0.17, 0.06, 0.03, 0.02, 0.01, 0.01])
GENDERS = np.array(["woman", "man", "non_binary", "another", "prefer_not_to_say"])
GENDER_WEIGHTS = np.array([0.58, 0.36, 0.03, 0.01, 0.02])

# Planted group differences in baseline trust (points on the 1-7 scale). Modest on
# purpose: the equity pages should find a gap of this size, and no larger.
TRUST_GAP = {"black": -0.35, "hispanic_latino": -0.2}

# Response noise on the 0-1 scale position, per construct.
ITEM_NOISE = {"trust": 0.10, "alliance": 0.08, "openness": 0.08, "outcome": 0.12}

# Check-ins open at the anchor: the next session's when it falls within this many days
# (invitations go out ahead of a session), and, for this share of active clients, the
# last session's, which passed without the client answering (overdue on the worklist).
CHECKIN_DAYS_AHEAD = 2
OVERDUE_SHARE = 0.15


@dataclass(frozen=True)
class SynthConfig:
    """What to generate. The same config always yields the same clinic."""

    seed: int
    n_clients: int
    anchor: date
    n_therapists: int | None = None
    plan: tuple[PlanRow, ...] = STANDARD_PLAN
    chunk_size: int = CHUNK_SIZE

    def __post_init__(self) -> None:
        if self.seed < 0:
            raise ValueError(f"seed must be zero or positive, got {self.seed}")
        if self.n_clients < 1:
            raise ValueError(f"the clinic needs at least one client, got {self.n_clients}")
        if self.n_therapists is not None and self.n_therapists < 1:
            raise ValueError(f"the clinic needs at least one therapist, got {self.n_therapists}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be positive, got {self.chunk_size}")

    @property
    def therapists(self) -> int:
        return self.n_therapists or max(2, math.ceil(self.n_clients / 30))

    @property
    def supervisors(self) -> int:
        return max(1, math.ceil(self.therapists / 5))


@dataclass(frozen=True)
class StaffMember:
    username: str
    first_name: str
    last_name: str
    role: str
    supervisor: str | None = None

    @property
    def email(self) -> str:
        """An example.org address (reserved, RFC 2606): safety notices show in the demo's
        console e-mail and can reach nobody."""
        return f"{self.username}@example.org"


@dataclass
class ClinicChunk:
    """One batch of clients with everything that belongs to them, as tidy DataFrames.

    ``client_key`` and ``episode_key`` are positions in the whole generated clinic;
    sessions and administrations refer to episodes by ``episode_key`` and to sessions by
    ``(episode_key, number)``. ``therapist`` indexes :func:`generate_staff`'s therapists.
    A session's ``checkin_open`` says that its check-in is open at the anchor, not yet
    answered: such a session has no administrations here (the writer opens them).
    """

    clients: pd.DataFrame
    episodes: pd.DataFrame
    sessions: pd.DataFrame
    administrations: pd.DataFrame
    extras: dict[str, Any] = field(default_factory=dict)


def generate_staff(config: SynthConfig) -> list[StaffMember]:
    """Therapists (each with a supervisor), supervisors, one clinic admin, one researcher."""
    rng = np.random.default_rng([config.seed, 0xC0FFEE])
    staff: list[StaffMember] = []
    supervisors = [f"supervisor{i + 1}" for i in range(config.supervisors)]
    for username in supervisors:
        staff.append(StaffMember(username, *_staff_name(rng), role="supervisor"))
    for i in range(config.therapists):
        staff.append(
            StaffMember(
                f"therapist{i + 1}",
                *_staff_name(rng),
                role="therapist",
                supervisor=supervisors[i % len(supervisors)],
            )
        )
    staff.append(StaffMember("admin", *_staff_name(rng), role="clinic_admin"))
    staff.append(StaffMember("researcher", *_staff_name(rng), role="researcher"))
    return staff


def _staff_name(rng: np.random.Generator) -> tuple[str, str]:
    return str(rng.choice(GIVEN_NAMES)), str(rng.choice(FAMILY_NAMES))


def generate_clients(config: SynthConfig, instruments: Mapping[str, Any]) -> Iterator[ClinicChunk]:
    """Yield the clinic's clients in chunks of ``config.chunk_size``.

    ``instruments`` maps instrument id to a loaded :class:`rapport.instruments.Instrument`
    (a registry works); every instrument named in ``config.plan`` must be present.
    """
    missing = [row.instrument_id for row in config.plan if row.instrument_id not in instruments]
    if missing:
        raise ValueError(f"the measurement plan names unknown instrument(s): {', '.join(missing)}")
    for chunk_number, start in enumerate(range(0, config.n_clients, config.chunk_size)):
        stop = min(start + config.chunk_size, config.n_clients)
        rng = np.random.default_rng([config.seed, 1, chunk_number])
        # A stream of its own, so that choosing the open check-ins leaves every other
        # record of a seed as it was before they existed.
        checkin_rng = np.random.default_rng([config.seed, 2, chunk_number])
        yield _generate_chunk(config, instruments, rng, checkin_rng, start, stop)


def _generate_chunk(
    config: SynthConfig,
    instruments: Mapping[str, Any],
    rng: np.random.Generator,
    checkin_rng: np.random.Generator,
    start: int,
    stop: int,
) -> ClinicChunk:
    keys = np.arange(start, stop)
    clients = _client_table(config, rng, keys)
    episode_rows: list[dict[str, Any]] = []
    session_rows: list[dict[str, Any]] = []
    latent_rows: list[dict[str, Any]] = []
    for row in clients.itertuples(index=False):
        _simulate_episode(config, rng, row, episode_rows, session_rows, latent_rows)
    episodes = pd.DataFrame(episode_rows)
    sessions = pd.DataFrame(session_rows)
    administrations = _administrations(config, instruments, rng, pd.DataFrame(latent_rows))
    sessions["checkin_open"] = _open_checkins(config, checkin_rng, episodes, sessions)
    administrations = _without_open_checkins(administrations, sessions)
    return ClinicChunk(clients.drop(columns=["trust_gap"]), episodes, sessions, administrations)


def _open_checkins(
    config: SynthConfig, rng: np.random.Generator, episodes: pd.DataFrame, sessions: pd.DataFrame
) -> pd.Series:
    """Which sessions have a check-in open at the anchor (a boolean per session row).

    For active episodes only: the next scheduled session when it is at most
    :data:`CHECKIN_DAYS_AHEAD` days ahead (pending), and for :data:`OVERDUE_SHARE` of the
    clients the last attended session, which passed without a check-in (overdue). Intake
    sessions are never overdue, so every client keeps a baseline.
    """
    active = sessions["episode_key"].isin(
        episodes.loc[episodes["status"] == "active", "episode_key"]
    )
    scheduled = sessions["status"] == "scheduled"
    days_ahead = pd.Series(
        [when.date() - config.anchor for when in sessions["scheduled_at"]], index=sessions.index
    )
    upcoming = active & scheduled & (days_ahead <= timedelta(days=CHECKIN_DAYS_AHEAD))
    past = sessions["number"].where(active & ~scheduled)
    last = past == past.groupby(sessions["episode_key"]).transform("max")
    candidate = last & (sessions["status"] == "attended") & (sessions["number"] > 1)
    overdue = candidate & (rng.random(len(sessions)) < OVERDUE_SHARE)
    return upcoming | overdue


def _without_open_checkins(administrations: pd.DataFrame, sessions: pd.DataFrame) -> pd.DataFrame:
    """The administrations of sessions whose check-in is still open left out."""
    if administrations.empty:
        return administrations
    open_sessions = sessions.loc[sessions["checkin_open"], ["episode_key", "number"]]
    keys = pd.MultiIndex.from_frame(administrations[["episode_key", "number"]])
    answered = ~keys.isin(pd.MultiIndex.from_frame(open_sessions))
    return administrations[answered].reset_index(drop=True)


def _client_table(config: SynthConfig, rng: np.random.Generator, keys: np.ndarray) -> pd.DataFrame:
    n = len(keys)
    race = _race_ethnicity(rng, n)
    age = rng.integers(18, 80, size=n)
    given = rng.choice(GIVEN_NAMES, size=n)
    family = rng.choice(FAMILY_NAMES, size=n)
    language = np.where(
        np.array(["hispanic_latino" in r for r in race]) & (rng.random(n) < 0.45), "es", "en"
    )
    language = np.where(rng.random(n) < 0.02, "other", language)
    gap = np.array([sum(TRUST_GAP.get(code, 0.0) for code in r) for r in race])
    birth_offsets = rng.integers(0, 365, size=n)
    return pd.DataFrame(
        {
            "client_key": keys,
            # 7919 is coprime with 10**7, so record numbers are unique up to 10 million
            # clients yet do not reveal the order in which clients were generated.
            "record_number": [f"RC-{(int(k) * 7919 + config.seed) % 10**7:07d}" for k in keys],
            "given_name": given,
            "family_name": family,
            "email": [
                f"{g.lower()}.{f.lower()}{k}@example.invalid"
                for g, f, k in zip(given, family, keys, strict=True)
            ],
            "phone": [f"+1-202-555-01{int(k) % 100:02d}" for k in keys],
            "date_of_birth": [
                config.anchor - timedelta(days=int(a) * 365 + int(o))
                for a, o in zip(age, birth_offsets, strict=True)
            ],
            "age": age,
            "race_ethnicity": race,
            "gender": rng.choice(GENDERS, size=n, p=GENDER_WEIGHTS),
            "preferred_language": language,
            "site": rng.integers(0, len(SITES), size=n),
            "therapist": rng.integers(0, config.therapists, size=n),
            "trust_gap": gap,
        }
    )


def _race_ethnicity(rng: np.random.Generator, n: int) -> list[list[str]]:
    first = rng.choice(RACE_CODES, size=n, p=RACE_WEIGHTS)
    second = rng.choice(RACE_CODES, size=n, p=RACE_WEIGHTS)
    multiple = rng.random(n) < 0.08
    declined = rng.random(n) < 0.04
    result: list[list[str]] = []
    for a, b, both, no in zip(first, second, multiple, declined, strict=True):
        if no:
            result.append(["prefer_not_to_say"])
        elif both and a != b:
            result.append(sorted([str(a), str(b)]))
        else:
            result.append([str(a)])
    return result


def _simulate_episode(
    config: SynthConfig,
    rng: np.random.Generator,
    client: Any,
    episodes: list[dict[str, Any]],
    sessions: list[dict[str, Any]],
    latent: list[dict[str, Any]],
) -> None:
    key = int(client.client_key)
    planned = int(np.clip(round(rng.lognormal(math.log(12), 0.5)), 4, 40))
    active = rng.random() < 0.45
    trust0 = float(np.clip(rng.normal(5.5, 0.75) + client.trust_gap, 1.5, 7.0))
    # Alliance shares only part of its client-level variation with trust: the published
    # trust scale correlates r = .53 with the alliance, not near 1.
    alliance0 = 8.4 + 0.8 * (trust0 - 5.5) + rng.normal(0, 0.45)
    severity0 = float(np.clip(rng.normal(0.52, 0.17), 0.08, 0.98))
    course = rng.choice(["improve", "slow", "flat", "deteriorate"], p=[0.55, 0.2, 0.15, 0.1])
    gain = {
        "improve": rng.normal(0.55, 0.15),
        "slow": rng.normal(0.25, 0.1),
        "flat": rng.normal(0.0, 0.08),
        "deteriorate": rng.normal(-0.3, 0.1),
    }[course] + 0.08 * (trust0 - 5.5)
    rupture_at = int(rng.integers(3, max(4, planned))) if rng.random() < 0.25 else None
    repaired = rng.random() < 0.65
    disengaging = active and rng.random() < 0.12

    dropout_logit = -1.7 - 0.9 * (trust0 - 5.5) + (1.6 if rupture_at and not repaired else 0.0)
    drops_out = rng.random() < 1 / (1 + math.exp(-dropout_logit))
    if drops_out:
        earliest = rupture_at + 1 if rupture_at and not repaired else 2
        length = int(rng.integers(min(earliest, planned), planned + 1))
    else:
        length = planned

    if active:
        # Still in treatment: as many sessions so far as weeks since the start.
        length = int(rng.integers(1, 20))
        started = config.anchor - timedelta(weeks=length - 1, days=int(rng.integers(1, 7)))
        end_reason, ended = "", None
    else:
        started = config.anchor - timedelta(weeks=length - 1, days=int(rng.integers(10, 540)))
        end_reason = (
            "dropout"
            if drops_out
            else str(rng.choice(["completed", "referred", "other"], p=[0.85, 0.1, 0.05]))
        )
        ended = started + timedelta(weeks=length - 1)

    episodes.append(
        {
            "episode_key": key,
            "client_key": key,
            "therapist": int(client.therapist),
            "started_on": started,
            "ended_on": ended,
            "status": "active" if active else "closed",
            "end_reason": end_reason,
        }
    )

    hour = int(rng.integers(9, 18))
    severity = severity0
    noise_state = 0.0
    for number in range(1, length + 1):
        when = datetime.combine(started + timedelta(weeks=number - 1), time(hour), tzinfo=UTC)
        missed_rate = 0.35 if disengaging and number > length - 3 else 0.08
        draw = rng.random()
        if number == 1 or (number == length and not active):
            status = "attended"
        elif draw < missed_rate:
            status = "missed"
        elif draw < missed_rate + 0.03:
            status = "cancelled"
        else:
            status = "attended"
        sessions.append(
            {"episode_key": key, "number": number, "scheduled_at": when, "status": status}
        )
        t = number - 1
        noise_state = 0.6 * noise_state + rng.normal(0, 0.035)
        severity = float(np.clip(severity0 - gain * severity0 * (1 - math.exp(-t / 4)), 0, 1))
        rupture = _rupture_effect(number, rupture_at, repaired)
        trust = trust0 + 0.25 * (1 - math.exp(-t / 5)) - 1.1 * rupture + rng.normal(0, 0.2)
        alliance = alliance0 + 0.4 * (1 - math.exp(-t / 4)) - 2.6 * rupture + rng.normal(0, 0.45)
        if status == "attended":
            latent.append(
                {
                    "episode_key": key,
                    "number": number,
                    "scheduled_at": when,
                    "trust": float(np.clip((trust - 1) / 6, 0, 1)),
                    "alliance": float(np.clip(alliance / 10, 0, 1)),
                    "openness": float(
                        np.clip(0.66 + 0.09 * (trust - 5.5) + rng.normal(0, 0.07), 0, 1)
                    ),
                    "outcome": float(np.clip(severity + noise_state, 0, 1)),
                }
            )
    if active:
        # The next appointment: scheduled, with its check-in still to come.
        sessions.append(
            {
                "episode_key": key,
                "number": length + 1,
                "scheduled_at": datetime.combine(
                    started + timedelta(weeks=length), time(hour), tzinfo=UTC
                ),
                "status": "scheduled",
            }
        )


def _rupture_effect(number: int, rupture_at: int | None, repaired: bool) -> float:
    """Size of a rupture's dip at this session (0 = none, 1 = the full drop)."""
    if rupture_at is None or number < rupture_at:
        return 0.0
    since = number - rupture_at
    if repaired:
        return (1.0, 0.5, 0.15)[since] if since < 3 else 0.0
    return 1.0 if since == 0 else 0.7


def _administrations(
    config: SynthConfig,
    instruments: Mapping[str, Any],
    rng: np.random.Generator,
    latent: pd.DataFrame,
) -> pd.DataFrame:
    frames = []
    # A session has one check-in: its questionnaires are answered, expire or are declined
    # together, at one time before the session (as on a real check-in link).
    latent = latent.assign(
        checkin_status=rng.choice(
            ["completed", "expired", "declined"], size=len(latent), p=[0.93, 0.05, 0.02]
        ),
        minutes_before=rng.integers(10, 24 * 60, size=len(latent)),
    )
    for instrument_id, every, first in config.plan:
        instrument = instruments[instrument_id]
        since_first = latent["number"] - first
        due = latent[(since_first >= 0) & (since_first % every == 0)]
        if due.empty:
            continue
        status = due["checkin_status"].to_numpy()
        answers = _answers(instrument, due[instrument.construct].to_numpy(), rng)
        minutes_before = due["minutes_before"].to_numpy()
        frame = pd.DataFrame(
            {
                "episode_key": due["episode_key"].to_numpy(),
                "number": due["number"].to_numpy(),
                "instrument_id": instrument_id,
                "instrument_version": instrument.version,
                "construct": instrument.construct,
                "status": status,
                "completed_at": [
                    when - timedelta(minutes=int(m)) if s == "completed" else None
                    for when, m, s in zip(due["scheduled_at"], minutes_before, status, strict=True)
                ],
            }
        )
        completed = status == "completed"
        # pandas-stubs reject a list of dicts, which pandas stores as an object column.
        frame["answers"] = [  # type: ignore[assignment]
            dict(zip(instrument.item_ids, row, strict=True)) if done else {}
            for row, done in zip(answers, completed, strict=True)
        ]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _answers(
    instrument: Any, position: np.ndarray, rng: np.random.Generator
) -> list[list[float | None]]:
    """Turn latent scale positions (0-1, toward a high score) into item answers.

    An item answer is the latent position plus a fixed item offset and noise, mapped onto
    the item's response options; reverse-keyed items are stored as the respondent would
    answer them (reversed). About 1.5% of answers are left out.
    """
    n = len(position)
    item_rng = np.random.default_rng(_stable_seed(instrument.id))
    columns = []
    for item in instrument.items:
        values = np.array(sorted(option.value for option in item.options), dtype=float)
        low, high = values[0], values[-1]
        offset = item_rng.normal(0, 0.04) - (0.45 if _is_rare_item(instrument, item) else 0.0)
        raw = position + offset + rng.normal(0, ITEM_NOISE[instrument.construct], size=n)
        scaled = low + np.clip(raw, 0, 1) * (high - low)
        if item.reverse:
            scaled = low + high - scaled
        nearest = values[np.abs(scaled[:, None] - values[None, :]).argmin(axis=1)]
        column: list[float | None] = [
            int(v) if float(v).is_integer() else float(v) for v in nearest
        ]
        for i in np.flatnonzero(rng.random(n) < 0.015):
            column[int(i)] = None
        columns.append(column)
    return [list(row) for row in zip(*columns, strict=True)]


def _is_rare_item(instrument: Any, item: Any) -> bool:
    """Items whose high answers raise a critical flag (thoughts of self-harm) are rare.

    Critical conditions on low answers (feeling unsafe with the therapist) need no shift:
    the latent trust level already makes them uncommon.
    """
    return any(
        critical.item_id == item.id and critical.operator in (">", ">=")
        for critical in instrument.critical_items
    )


def _stable_seed(text: str) -> int:
    return int.from_bytes(text.encode("utf-8"), "little") % (2**63)


def plan_entries(plan: Sequence[PlanRow]) -> list[dict[str, int | str]]:
    """The measurement plan as rows for storage, in order."""
    return [{**row._asdict(), "position": position} for position, row in enumerate(plan)]
