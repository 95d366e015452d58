"""One client's record as a FHIR R4 ``Bundle`` (completes the client data export).

The pure mapping lives in :mod:`rapport.instruments.fhir`; this module gathers the
client's episodes, sessions and completed administrations and calls its builders:

* ``Patient``: the record number as the only identifier (the clinic's pseudonym), plus
  name, telecom and birth date only when ``identity`` is asked for;
* ``EpisodeOfCare`` per episode (period, status) and ``Encounter`` per session that has
  completed administrations (period start, the session number as an identifier);
* per completed administration, a ``QuestionnaireResponse`` (its ``encounter`` is the
  session) and the score ``Observation`` s, recomputed from the stored answers with the
  instrument version that was given (stored scores are a cache of exactly that).

The Bundle is validated with ``fhir.resources`` by :func:`rapport.instruments.fhir.bundle`,
and the export is audited like the JSON export (``client.export``, format ``fhir``).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    ClientIdentity,
    Episode,
    EpisodeStatus,
    Organisation,
    Session,
)
from rapport.instruments import Registry
from rapport.instruments.fhir import (
    DEFAULT_BASE_URL,
    bundle,
    questionnaire_response,
    score_observations,
)
from rapport.interop.context import InteropError
from rapport.security import audit, rights
from rapport.security.access import clients_for, may_see_identity, without_hidden_answers

ENCOUNTER_CLASS = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
    "code": "AMB",
    "display": "ambulatory",
}


def record_number_system(organisation: Organisation, base_url: str = DEFAULT_BASE_URL) -> str:
    return f"{base_url}/organisation/{organisation.slug}/record-number"


def session_number_system(base_url: str = DEFAULT_BASE_URL) -> str:
    return f"{base_url}/session-number"


def client_bundle(
    record_number: str,
    organisation: Organisation,
    registry: Registry,
    *,
    identity: bool = False,
    user: Any = None,
    request: Any = None,
    via: str = "",
) -> dict[str, Any]:
    """The FHIR R4 collection Bundle of one client's record (audited).

    Without ``user`` (the operator's ``rapport export fhir``, answering the client's own
    request for their record) everything is exported. For a member of staff the access
    layer decides, as on their pages: only a client in their scope, identity only for a
    role that reads identities, and no relationship answers hidden from them.
    """
    try:
        client = rights.find_client(record_number, organisation.slug)
        if user is not None and not clients_for(user).filter(pk=client.pk).exists():
            # Out of scope reads exactly like an unknown record number.
            raise rights.ClientNotFoundError(
                f"no client with record number {record_number!r} in organisation "
                f"{organisation.slug!r}"
            )
    except rights.ClientNotFoundError as error:
        raise InteropError(str(error)) from None
    if identity and user is not None and not may_see_identity(user):
        raise InteropError("this role does not read client identities")
    patient = _patient(client, identity)
    subject = f"Patient/{patient['id']}"
    resources: list[dict[str, Any]] = [patient]
    missing: set[str] = set()
    for episode in client.episodes.order_by("started_on", "id"):
        resources.append(_episode_of_care(episode, subject))
        for session in episode.sessions.order_by("number"):
            completed = session.administrations.filter(status=AdministrationStatus.COMPLETED)
            if user is not None:
                completed = without_hidden_answers(user, completed, registry)
            completed = list(completed.order_by("instrument_id"))
            if not completed:
                continue
            resources.append(_encounter(session, subject))
            for administration in completed:
                made = _administration(administration, session, subject, registry)
                if made is None:
                    missing.add(
                        f"{administration.instrument_id} v{administration.instrument_version}"
                    )
                resources += made or []
    if missing:
        raise InteropError(
            "these instrument versions are not loaded, so their answers cannot be exported: "
            + ", ".join(sorted(missing))
        )
    result = bundle(resources)
    detail = {"format": "fhir", "fields": ["identity"] if identity else []}
    if via:
        detail["via"] = via
    audit.record("client.export", user=user, request=request, obj=client, detail=detail)
    return result


def _patient(client: Client, identity: bool) -> dict[str, Any]:
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(client.public_id),
        "identifier": [
            {
                "use": "usual",
                "system": record_number_system(client.organisation),
                "value": client.record_number,
            }
        ],
    }
    found = ClientIdentity.objects.filter(client=client).first() if identity else None
    if found is not None:
        name = {k: v for k, v in (("family", found.family_name),) if v}
        if found.given_name:
            name["given"] = [found.given_name]
        if name:
            patient["name"] = [name]
        telecom = [
            {"system": system, "value": value}
            for system, value in (("email", found.email), ("phone", found.phone))
            if value
        ]
        if telecom:
            patient["telecom"] = telecom
        if found.date_of_birth:
            patient["birthDate"] = found.date_of_birth.isoformat()
    return patient


def _episode_of_care(episode: Episode, subject: str) -> dict[str, Any]:
    period = {"start": episode.started_on.isoformat()}
    if episode.ended_on:
        period["end"] = episode.ended_on.isoformat()
    return {
        "resourceType": "EpisodeOfCare",
        "id": str(episode.public_id),
        "status": "finished" if episode.status == EpisodeStatus.CLOSED else "active",
        "patient": {"reference": subject},
        "period": period,
    }


def _encounter(session: Session, subject: str) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": str(session.public_id),
        "identifier": [{"system": session_number_system(), "value": str(session.number)}],
        "status": "finished",
        "class": ENCOUNTER_CLASS,
        "subject": {"reference": subject},
        "episodeOfCare": [{"reference": f"EpisodeOfCare/{session.episode.public_id}"}],
        "period": {"start": timezone.localtime(session.scheduled_at).isoformat()},
    }


def _administration(
    administration: Administration, session: Session, subject: str, registry: Registry
) -> list[dict[str, Any]] | None:
    instrument = registry.get(
        administration.instrument_id, version=administration.instrument_version
    )
    if instrument is None:
        return None
    answers = dict(administration.answers)
    authored = administration.completed_at or session.scheduled_at
    response_id = str(administration.public_id)
    response = questionnaire_response(
        instrument,
        answers,
        response_id=response_id,
        subject_reference=subject,
        authored=authored,
    )
    response["encounter"] = {"reference": f"Encounter/{session.public_id}"}
    observations = score_observations(
        instrument,
        instrument.score(answers),
        subject_reference=subject,
        effective=authored,
        derived_from=f"QuestionnaireResponse/{response_id}",
        id_prefix=response_id,
    )
    return [response, *observations]
