"""A synthetic caseload with every kind of trajectory, for the benchmark, tests and screenshots.

:func:`seed_caseload` gives one therapist ``n_clients`` active clients with ``n_sessions``
weekly sessions each (the last one a week ago), check-ins at every session (trust,
alliance and PHQ-9; GAD-7 every fourth) scored by the instruments themselves, and a mix
of stories: improving, stable, a trust drop, an alliance rupture, a safety answer, not on
track, and missed sessions. Bulk inserts, so 60 x 40 takes a second or two. Synthetic
data only.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Mapping

import numpy as np
from django.utils import timezone

from rapport.accounts.models import User
from rapport.checkin.models import Channel, CheckinLink, CheckinSubmission
from rapport.checkin.tokens import token_hash
from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    Episode,
    EpisodeStatus,
    Session,
    SessionStatus,
)
from rapport.instruments import Instrument

STORIES = ("improving", "stable", "trust_drop", "rupture", "unsafe", "off_track", "missing")
COMMENTS = {
    "trust_drop": "I felt rushed at the end last time and was not sure you heard me.",
    "rupture": "I don't think the homework is helping, and I didn't want to say so.",
    "improving": "Sleeping a bit better this week. The breathing exercise helps.",
}


def _answers(instrument: Instrument, level: float, rng: np.random.Generator) -> dict[str, int]:
    """Answers whose item mean is about ``level`` (in the item's own scale, not reversed)."""
    answers = {}
    for item in instrument.items:
        low, high = item.min_value, item.max_value
        value = int(np.clip(round(level + rng.normal(0, 0.5)), low, high))
        answers[item.id] = (low + high - value) if item.reverse else value
    return answers


def _levels(story: str, session: int, last: int, rng: np.random.Generator) -> dict[str, float]:
    """Item-level means for trust (1-7), alliance (0-10) and PHQ-9 (0-3) at ``session``."""
    progress = (session - 1) / max(last - 1, 1)
    trust, alliance = 5.9 + rng.normal(0, 0.15), 8.6 + rng.normal(0, 0.2)
    phq = 2.0 - 1.3 * progress if story != "off_track" else 1.9 + 0.3 * progress
    if story == "stable":
        phq = 1.0
    if session == last and story == "trust_drop":
        trust = 4.0
    if session == last and story == "rupture":
        alliance = 5.5
    return {"rapport_trust": trust, "rapport_alliance": alliance, "phq9": phq, "gad7": phq}


def seed_caseload(
    therapist: User,
    instruments: Mapping[str, Instrument],
    *,
    n_clients: int = 60,
    n_sessions: int = 40,
    seed: int = 7,
    prefix: str = "C",
    now: datetime.datetime | None = None,
) -> list[Episode]:
    """Create the caseload and return its episodes (see the module docstring)."""
    rng = np.random.default_rng(seed)
    now = now or timezone.now()
    organisation = therapist.organisation
    plan = organisation.plans.get(is_default=True)
    first_session = now - datetime.timedelta(weeks=n_sessions)
    clients = Client.objects.bulk_create(
        Client(organisation=organisation, record_number=f"{prefix}{index:04d}")
        for index in range(1, n_clients + 1)
    )
    episodes = Episode.objects.bulk_create(
        Episode(
            client=client,
            therapist=therapist,
            plan=plan,
            started_on=first_session.date(),
            status=EpisodeStatus.ACTIVE,
        )
        for client in clients
    )
    stories = [STORIES[index % len(STORIES)] for index in range(n_clients)]
    sessions = Session.objects.bulk_create(
        Session(
            episode=episode,
            number=number,
            scheduled_at=first_session + datetime.timedelta(weeks=number - 1),
            status=(
                SessionStatus.MISSED
                if story == "missing" and number > n_sessions - 2
                else SessionStatus.ATTENDED
            ),
        )
        for episode, story in zip(episodes, stories, strict=True)
        for number in range(1, n_sessions + 1)
    )
    administrations = []
    for index, session in enumerate(sessions):
        story = stories[index // n_sessions]
        levels = _levels(story, session.number, n_sessions, rng)
        due = ["rapport_trust", "rapport_alliance", "phq9"] + (
            ["gad7"] if session.number % 4 == 1 else []
        )
        for instrument_id in due:
            instrument = instruments[instrument_id]
            administration = Administration(
                session=session,
                instrument_id=instrument_id,
                instrument_version=instrument.version,
                construct=instrument.construct,
                created_at=session.scheduled_at,
            )
            if session.status == SessionStatus.MISSED:
                administration.status = AdministrationStatus.EXPIRED
            else:
                answers = _answers(instrument, levels[instrument_id], rng)
                if instrument_id == "phq9":
                    unsafe = story == "unsafe" and session.number == n_sessions
                    answers["phq9_9"] = 1 if unsafe else 0
                administration.answers = answers
                administration.apply_scores(instrument.score(answers))
                administration.status = AdministrationStatus.COMPLETED
                administration.completed_at = session.scheduled_at
            administrations.append(administration)
    Administration.objects.bulk_create(administrations, batch_size=2000)
    _comments(sessions, stories, n_sessions)
    return episodes


def _comments(sessions: list[Session], stories: list[str], n_sessions: int) -> None:
    # A comment arrives with a submitted check-in link; the token itself is thrown away.
    for index, story in enumerate(stories):
        if story not in COMMENTS:
            continue
        session = sessions[index * n_sessions + n_sessions - 1]
        link = CheckinLink.objects.create(
            session=session,
            token_hash=token_hash(secrets.token_urlsafe(32)),
            channel=Channel.EMAIL,
            created_at=session.scheduled_at,
            expires_at=session.scheduled_at + datetime.timedelta(days=3),
            used_at=session.scheduled_at,
        )
        CheckinSubmission.objects.create(
            link=link,
            session=session,
            submitted_at=session.scheduled_at,
            comment=COMMENTS[story],
        )
