"""Saving drafts and the final submission of a check-in.

The final submission is one transaction: lock the link row (``SELECT ... FOR UPDATE``) and
the session row, check the link is still open, score and store every due questionnaire,
record the :class:`CheckinSubmission` (unique per link: the last line of defence), close
the link and any sibling links of the session, delete the draft, raise alerts, and write
the audit entry last so the audit chain's head row is locked only for the commit. A
second or concurrent submission waits on the lock, then finds the link closed and
stores nothing. On SQLite the transaction takes the write lock at BEGIN
(``transaction_mode=IMMEDIATE``), which serialises submissions the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from rapport.checkin.answers import Answers, unanswered_required
from rapport.checkin.links import OPEN_STATUSES
from rapport.checkin.models import Alert, AlertKind, CheckinDraft, CheckinLink, CheckinSubmission
from rapport.checkin.registry import instrument_for
from rapport.checkin.tokens import looks_like_token, token_hash
from rapport.clinic.models import Administration, AdministrationStatus, Session
from rapport.security import audit

SCORED_FIELDS = [
    "answers",
    "total",
    "subscales",
    "band",
    "flags",
    "missing",
    "status",
    "started_at",
    "completed_at",
]


class Outcome(enum.Enum):
    STORED = "stored"
    CLOSED = "closed"  # used, revoked, expired, unknown, or nothing left to answer
    INCOMPLETE = "incomplete"


@dataclass(frozen=True)
class SubmitResult:
    outcome: Outcome
    # instrument id -> ids of required items still unanswered (INCOMPLETE only)
    missing: dict[str, list[str]] = field(default_factory=dict)
    # True when a critical answer on a symptom measure calls for crisis resources
    show_crisis_resources: bool = False


def _locked_open_link(token: str) -> CheckinLink | None:
    if not looks_like_token(token):
        return None
    link = (
        CheckinLink.objects.select_for_update()
        .select_related("session__episode__client")
        .filter(token_hash=token_hash(token))
        .first()
    )
    return link if link is not None and link.is_open() else None


class LinkClosedError(Exception):
    """The link closed (submitted elsewhere, revoked, expired) while a draft was saved."""


def _locked_open_link_by_pk(pk: int) -> bool:
    now = timezone.now()
    locked = (
        CheckinLink.objects.select_for_update()
        .filter(pk=pk, used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now)
        .values_list("pk", flat=True)
    )
    return bool(list(locked[:1]))


def merged_answers(
    draft: CheckinDraft | None, submitted: Mapping[str, Answers]
) -> dict[str, Answers]:
    """Draft answers overlaid with the ones in this request, per instrument id."""
    merged: dict[str, Answers] = {k: dict(v) for k, v in (draft.answers if draft else {}).items()}
    for instrument_id, answers in submitted.items():
        merged.setdefault(instrument_id, {}).update(answers)
    return merged


def save_draft(
    link: CheckinLink,
    submitted: Mapping[str, Answers],
    *,
    comment: str | None = None,
    language: str | None = None,
    screen: int | None = None,
) -> CheckinDraft:
    """Merge ``submitted`` answers into the session's draft (autosave and "Next")."""
    now = timezone.now()
    with transaction.atomic():
        # Waits for a submission in progress; a draft for a closed link is not kept.
        if not _locked_open_link_by_pk(link.pk):
            raise LinkClosedError
        draft = CheckinDraft.objects.select_for_update().filter(session_id=link.session_id).first()
        if draft is None:
            draft = CheckinDraft(session_id=link.session_id)
            # The client has started: the worklist shows these questionnaires in progress.
            Administration.objects.filter(
                session_id=link.session_id, status=AdministrationStatus.PENDING
            ).update(status=AdministrationStatus.IN_PROGRESS, started_at=now)
        draft.answers = merged_answers(draft, submitted)
        if comment is not None:
            draft.comment = comment
        if language is not None:
            draft.language = language
        if screen is not None:
            draft.screen = screen
        draft.updated_at = now
        draft.save()
    return draft


def submit_checkin(
    token: str,
    submitted: Mapping[str, Answers],
    *,
    comment: str | None,
    language: str,
) -> SubmitResult:
    """Store the check-in behind ``token`` once; see the module docstring."""
    now = timezone.now()
    with transaction.atomic():
        link = _locked_open_link(token)
        if link is None:
            return SubmitResult(Outcome.CLOSED)
        # Sibling links of the same session (an e-mail and a kiosk link, say) lock here.
        session = Session.objects.select_for_update().get(pk=link.session_id)
        # Links are issued only after the plan's administrations exist (links.py).
        administrations = list(
            Administration.objects.filter(session=session, status__in=OPEN_STATUSES)
        )
        if not administrations:
            return SubmitResult(Outcome.CLOSED)
        draft = CheckinDraft.objects.filter(session=session).first()
        answers = merged_answers(draft, submitted)
        missing: dict[str, list[str]] = {}
        crisis = False
        critical_codes: list[str] = []
        for administration in administrations:
            instrument = instrument_for(
                administration.instrument_id, administration.instrument_version
            )
            given = {
                item_id: value
                for item_id, value in answers.get(instrument.id, {}).items()
                if item_id in instrument.item_ids
            }
            still_missing = unanswered_required(instrument, given)
            if still_missing:
                missing[instrument.id] = still_missing
                continue
            result = instrument.score(given)
            administration.answers = given
            administration.apply_scores(result)
            administration.status = AdministrationStatus.COMPLETED
            administration.started_at = administration.started_at or now
            administration.completed_at = now
            # Only symptom measures raise urgent alerts: a relationship answer may be one
            # the therapist is not allowed to see (supervisors-only audience).
            if instrument.construct == "outcome" and result.flags:
                crisis = True
                critical_codes.extend(result.flags)
        if missing:
            return SubmitResult(Outcome.INCOMPLETE, missing=missing)
        # One plain UPDATE per questionnaire: bulk_update's CASE expressions cost more
        # Python time than the few round trips they save.
        for administration in administrations:
            administration.save(update_fields=SCORED_FIELDS)
        final_comment = comment if comment is not None else (draft.comment if draft else "")
        CheckinSubmission.objects.create(
            link=link, session=session, submitted_at=now, language=language, comment=final_comment
        )
        link.used_at = now
        link.save(update_fields=["used_at"])
        CheckinLink.objects.filter(
            session=session, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now)
        if draft is not None:
            draft.delete()
        episode = session.episode
        for code in critical_codes:
            alert = Alert.objects.create(
                organisation_id=episode.client.organisation_id,
                kind=AlertKind.CRITICAL_ITEM,
                client_id=episode.client_id,
                episode=episode,
                session=session,
                code=code,
                raised_at=now,
            )
            audit.record("alert.raise", obj=alert, detail={"reason": AlertKind.CRITICAL_ITEM})
        audit.record(
            "checkin.submit", obj=link, detail={"count": len(administrations), "via": link.channel}
        )
    return SubmitResult(Outcome.STORED, show_crisis_resources=crisis)
