"""Consent and client rights: consent changes, data export and erasure.

Plain functions that views, the API and the ``rapport client`` command all call. Each one
writes an audit event with :func:`rapport.security.audit.record`. Callers decide who may
call them (the access layer); these functions only do the work and the audit.
"""

from __future__ import annotations

import datetime
import secrets
import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from rapport.clinic.models import (
    Client,
    ClientDemographics,
    ClientIdentity,
    ClientProgress,
    Consent,
    ConsentKind,
    Organisation,
    TrustAnswersAudience,
)
from rapport.safety_plans.models import SafetyPlan
from rapport.safety_plans.sections import TEXT_FIELDS
from rapport.security import audit

EXPORT_FORMAT = "rapport-client-export"
# 2: adds check-in comments, requests to talk and alerts (version 1 left them out).
EXPORT_VERSION = 2
ERASED_PREFIX = "erased-"


class ClientNotFoundError(LookupError):
    """No client with that record number in that organisation."""


def find_client(record_number: str, organisation_slug: str) -> Client:
    """The client ``record_number`` of organisation ``organisation_slug``."""
    client = (
        Client.objects.select_related("organisation")
        .filter(organisation__slug=organisation_slug, record_number=record_number)
        .first()
    )
    if client is None:
        raise ClientNotFoundError(
            f"no client with record number {record_number!r} in organisation {organisation_slug!r}"
        )
    return client


# --- consent ------------------------------------------------------------------------


def set_consent(
    client: Client, kind: str, granted: bool, *, user: Any = None, request: Any = None
) -> Consent:
    """Record the client's decision for ``kind`` (a new row; earlier ones stay as history)."""
    if kind not in ConsentKind.values:
        raise ValueError(f"consent kind {kind!r} must be one of {ConsentKind.values}")
    with transaction.atomic():
        consent = Consent.objects.create(
            client=client,
            kind=kind,
            granted=granted,
            recorded_by=user if getattr(user, "is_authenticated", False) else None,
        )
        audit.record(
            "consent.change",
            request=request,
            user=user,
            obj=client,
            detail={"consent_kind": kind, "consent_value": "granted" if granted else "withdrawn"},
        )
    return consent


def current_consents(client: Client) -> dict[str, bool | None]:
    """The consent in force for each kind: True, False, or None if never asked."""
    in_force: dict[str, bool | None] = dict.fromkeys(ConsentKind.values)
    for consent in client.consents.order_by("recorded_at", "id"):
        in_force[consent.kind] = consent.granted
    return in_force


def has_consent(client: Client, kind: str) -> bool:
    return current_consents(client).get(kind) is True


def set_trust_answers_audience(
    organisation: Organisation, audience: str, *, user: Any = None, request: Any = None
) -> None:
    """Change who at this clinic may read clients' trust answers (audited)."""
    if audience not in TrustAnswersAudience.values:
        raise ValueError(f"audience {audience!r} must be one of {TrustAnswersAudience.values}")
    with transaction.atomic():
        organisation.trust_answers_audience = audience
        organisation.save(update_fields=["trust_answers_audience"])
        audit.record(
            "organisation.trust_audience_change",
            request=request,
            user=user,
            obj=organisation,
            detail={"audience": audience},
        )


def set_client_progress(
    organisation: Organisation, choice: str, *, user: Any = None, request: Any = None
) -> None:
    """Change what this clinic's clients see of their own results (audited).

    ``choice`` is one of :class:`ClientProgress`; what each allows is decided by
    :func:`rapport.security.access.client_progress_constructs`.
    """
    if choice not in ClientProgress.values:
        raise ValueError(f"client progress {choice!r} must be one of {ClientProgress.values}")
    with transaction.atomic():
        organisation.client_progress = choice
        organisation.save(update_fields=["client_progress"])
        audit.record(
            "organisation.client_progress_change",
            request=request,
            user=user,
            obj=organisation,
            detail={"audience": choice},
        )


# --- export -------------------------------------------------------------------------


def export_client(client: Client, *, user: Any = None, request: Any = None, via: str = "") -> dict:
    """Everything stored about ``client`` as a JSON-ready dict (GDPR Art. 15/20).

    Identity (decrypted), demographics, consents, episodes with sessions, every
    administration with its answers and scores, the client's own words (check-in
    comments, requests to talk about how therapy is going), alerts with the clinicians'
    acknowledgement and resolution records, and each episode's safety plan. The export is
    audited.
    """
    data = {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "client": {
            "public_id": str(client.public_id),
            "record_number": client.record_number,
            "organisation": client.organisation.slug,
            "site": client.site.name if client.site else None,
            "created_at": client.created_at.isoformat(),
        },
        "identity": _identity(client),
        "demographics": _demographics(client),
        "consents": [
            {
                "kind": consent.kind,
                "granted": consent.granted,
                "recorded_at": consent.recorded_at.isoformat(),
            }
            for consent in client.consents.order_by("recorded_at", "id")
        ],
        "episodes": [_episode(episode) for episode in client.episodes.order_by("started_on", "id")],
        "alerts": [_alert(alert) for alert in client.alerts.order_by("raised_at", "id")],
    }
    detail = {"format": "json", "via": via} if via else {"format": "json"}
    audit.record("client.export", request=request, user=user, obj=client, detail=detail)
    return data


def _identity(client: Client) -> dict | None:
    identity = ClientIdentity.objects.filter(client=client).first()
    if identity is None:
        return None
    return {
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "email": identity.email,
        "phone": identity.phone,
        "date_of_birth": _iso(identity.date_of_birth),
        "gender_self_description": identity.gender_self_description,
        "ethnicity_self_description": identity.ethnicity_self_description,
    }


def _demographics(client: Client) -> dict | None:
    demographics = ClientDemographics.objects.filter(client=client).first()
    if demographics is None:
        return None
    return {
        "race_ethnicity": list(demographics.race_ethnicity),
        "gender": demographics.gender,
        "preferred_language": demographics.preferred_language,
        "age_band": demographics.age_band,
    }


def _episode(episode: Any) -> dict:
    return {
        "public_id": str(episode.public_id),
        "therapist": episode.therapist.get_full_name() or episode.therapist.username,
        "started_on": _iso(episode.started_on),
        "ended_on": _iso(episode.ended_on),
        "status": episode.status,
        "end_reason": episode.end_reason,
        "sessions": [
            {
                "public_id": str(session.public_id),
                "number": session.number,
                "scheduled_at": _iso(session.scheduled_at),
                "status": session.status,
                "administrations": [
                    _administration(item) for item in session.administrations.order_by("id")
                ],
                "checkin_comments": [
                    {
                        "submitted_at": _iso(submission.submitted_at),
                        "language": submission.language,
                        "comment": submission.comment,
                    }
                    for submission in session.checkin_submissions.order_by("submitted_at", "id")
                    if submission.comment
                ],
            }
            for session in episode.sessions.order_by("number")
        ],
        "talk_requests": [
            {
                "raised_at": _iso(talk.raised_at),
                "note": talk.note,
                "discussed_at": _iso(talk.discussed_at),
            }
            for talk in episode.talk_requests.order_by("raised_at", "id")
        ],
        "safety_plan": _safety_plan(episode),
    }


def _alert(alert: Any) -> dict:
    return {
        "episode": str(alert.episode.public_id) if alert.episode_id else None,
        "kind": alert.kind,
        "code": alert.code,
        "raised_at": _iso(alert.raised_at),
        "acknowledged_at": _iso(alert.acknowledged_at),
        "contact_method": alert.contact_method,
        "risk_outcome": alert.risk_outcome,
        "acknowledgement_note": alert.acknowledgement_note,
        "resolved_at": _iso(alert.resolved_at),
        "resolution_note": alert.resolution_note,
    }


def _safety_plan(episode: Any) -> dict | None:
    plan = SafetyPlan.objects.filter(episode=episode).prefetch_related("contacts").first()
    if plan is None:
        return None
    return {
        "language": plan.language,
        "reviewed_on": _iso(plan.reviewed_on),
        **{field: plan.lines(field) for field in TEXT_FIELDS},
        "helpers": [{"name": c.name, "phone": c.phone} for c in plan.contacts.all()],
    }


def _administration(item: Any) -> dict:
    return {
        "public_id": str(item.public_id),
        "instrument_id": item.instrument_id,
        "instrument_version": item.instrument_version,
        "construct": item.construct,
        "status": item.status,
        "created_at": _iso(item.created_at),
        "started_at": _iso(item.started_at),
        "completed_at": _iso(item.completed_at),
        "answers": item.answers,
        "total": item.total,
        "subscales": item.subscales,
        "band": item.band,
        "flags": item.flags,
        "missing": item.missing,
    }


def _iso(value: datetime.date | None) -> str | None:
    return value.isoformat() if value is not None else None


# --- erasure ------------------------------------------------------------------------


def erase_client(client: Client, *, user: Any = None, request: Any = None, via: str = "") -> None:
    """Destroy the client's identity; keep the pseudonymous record and its scores.

    * The :class:`ClientIdentity` row (names, contacts, date of birth, free-text
      self-descriptions, all encrypted) is deleted. On SQLite ``secure_delete`` is on for
      the deletion, so freed pages are zeroed rather than left holding ciphertext.
    * The client's free text goes too: check-in comments (submitted and drafts), the
      lines written with a request to talk about how therapy is going, and the
      staff's acknowledgement notes on the client's alerts, which may name the person.
      The alerts themselves (when, by whom) stay.
    * The record number, which other systems may know, is replaced by a random one, and
      so is the public id that URLs, API clients and earlier audit entries hold, so the
      remaining record cannot be linked back to the person through either.
    * Safety plans (with the names and numbers of the people in them) are deleted.
    * Episodes, sessions, administrations (answers and scores), coarse demographic codes
      and the consent history stay: they carry no identity and keep the clinic's
      statistics whole. Research exports still obey the research consent.

    What is left of the deleted ciphertext (PostgreSQL dead rows until VACUUM, old
    backups) stays encrypted under the field keys; the next ``rapport keys rotate`` plus
    retiring the old key makes those copies unreadable (crypto-shredding). See
    docs/security.md.
    """
    with transaction.atomic():
        if connection.vendor == "sqlite":
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA secure_delete = ON")
        ClientIdentity.objects.filter(client=client).delete()
        # A safety plan is the client's own words and names people they know.
        SafetyPlan.objects.filter(episode__client=client).delete()
        _erase_free_text(client)
        client.record_number = ERASED_PREFIX + secrets.token_hex(8)
        client.public_id = uuid.uuid4()
        client.save(update_fields=["record_number", "public_id"])
        detail = {"via": via} if via else None
        audit.record("client.erase", request=request, user=user, obj=client, detail=detail)


def _erase_free_text(client: Client) -> None:
    # Imported here: the checkin app builds on security, not the other way round.
    from rapport.checkin.models import Alert, CheckinDraft, CheckinSubmission, TalkRequest

    CheckinSubmission.objects.filter(session__episode__client=client).update(comment="")
    CheckinDraft.objects.filter(link__session__episode__client=client).update(
        comment="", talk_note=""
    )
    TalkRequest.objects.filter(episode__client=client).update(note="")
    Alert.objects.filter(client=client).update(acknowledgement_note="")


def is_erased(client: Client) -> bool:
    return client.record_number.startswith(ERASED_PREFIX)
