"""``rapport import fhir FILE``: a Questionnaire, or a Bundle of a client's record.

* A ``Questionnaire`` becomes an instrument definition (YAML) in the clinic's instruments
  folder, after it loads cleanly; when something needed to score is missing, the report
  lists every missing piece and nothing is written.
* A ``Bundle`` (as made by :mod:`rapport.interop.fhir_export`) brings its
  ``QuestionnaireResponse`` s into *existing* clients: the ``Patient`` is matched by its
  record-number identifier, the ``EpisodeOfCare`` by its start date (created, with the
  therapist of the client's latest episode, when missing), the ``Encounter`` by its
  session number (created when missing). Scores are recomputed from the answers, so the
  ``Observation`` s are not read. Everything is checked first; then everything is written
  in one transaction, or nothing. Re-importing the same Bundle adds nothing.

A lone ``QuestionnaireResponse`` names neither the session nor the episode it belongs to,
so it is refused with that explanation: import the Bundle it came in.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    EndReason,
    Episode,
    EpisodeStatus,
    Organisation,
    Session,
    SessionStatus,
)
from rapport.core.date_range import check_in_range
from rapport.core.instruments import clinic_instrument_dirs
from rapport.instruments import (
    DefinitionError,
    Instrument,
    Registry,
    definition_file_name,
    load_definition,
)
from rapport.instruments.fhir import (
    FHIRImportError,
    FHIRValidationError,
    answers_from_questionnaire_response,
    definition_yaml,
    instrument_definition_from_questionnaire,
    validate_resource,
)
from rapport.interop.bounded_json import load_json_file
from rapport.interop.context import InteropError
from rapport.interop.fhir_export import record_number_system, session_number_system
from rapport.security import audit


@dataclass
class FhirImportReport:
    written_definition: Path | None = None
    created_episodes: int = 0
    created_sessions: int = 0
    created_administrations: int = 0
    unchanged: int = 0
    observations_recomputed: int = 0
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if self.written_definition is not None:
            return [f"wrote instrument definition {self.written_definition}", *self.notes]
        return [
            f"imported {self.created_administrations} administration(s) "
            f"({self.unchanged} already present); created {self.created_episodes} episode(s) "
            f"and {self.created_sessions} session(s); {self.observations_recomputed} "
            "Observation(s) not read: scores are recomputed from the answers",
            *self.notes,
        ]


def import_fhir_file(
    path: Path,
    organisation: Organisation,
    registry: Registry,
    *,
    instruments_dir: Path | None = None,
    user: Any = None,
    via: str = "",
) -> FhirImportReport:
    """Import the JSON resource in ``path``; raise InteropError listing every problem."""
    resource = load_json_file(path, max_bytes=settings.FHIR_IMPORT_MAX_BYTES)
    kind = resource.get("resourceType") if isinstance(resource, dict) else None
    if kind == "Questionnaire":
        return import_questionnaire(resource, registry, instruments_dir, user=user, via=via)
    if kind == "Bundle":
        return import_bundle(resource, organisation, registry, user=user, via=via)
    if kind == "QuestionnaireResponse":
        raise InteropError(
            "a lone QuestionnaireResponse does not say which client session it belongs to; "
            "import the Bundle it came in (Patient, EpisodeOfCare, Encounter and responses)"
        )
    raise InteropError(f"expected a Questionnaire or a Bundle, got resourceType {kind!r}")


# --- Questionnaire -> instrument definition ---------------------------------------------


def import_questionnaire(
    resource: dict[str, Any],
    registry: Registry,
    instruments_dir: Path | None,
    *,
    user: Any = None,
    via: str = "",
) -> FhirImportReport:
    # With several clinic folders, a new definition goes into the first one.
    folder = instruments_dir or next(iter(clinic_instrument_dirs()), None)
    if folder is None:
        raise InteropError(
            "set RAPPORT_INSTRUMENTS_DIR (or pass --instruments-dir) to say where the "
            "clinic's instrument definitions live"
        )
    try:
        definition = instrument_definition_from_questionnaire(resource)
    except (FHIRImportError, FHIRValidationError) as error:
        raise InteropError(f"the Questionnaire cannot become an instrument: {error}") from None
    instrument_id, version = str(definition["id"]), str(definition["version"])
    try:
        file_name = definition_file_name(instrument_id, version)
    except ValueError as error:
        raise InteropError(f"the Questionnaire cannot become an instrument: {error}") from None
    if registry.get(instrument_id, version=version) is not None:
        raise InteropError(f"{instrument_id} version {version} is already loaded; nothing written")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / file_name
    if target.exists():
        raise InteropError(f"{target} already exists; nothing written")
    staging = target.with_suffix(".yaml.part")
    staging.write_text(definition_yaml(definition), encoding="utf-8")
    try:
        load_definition(staging)  # every schema rule, before the file becomes visible
    except DefinitionError as error:
        staging.unlink()
        raise InteropError(f"the imported definition does not load: {error}") from None
    staging.rename(target)
    detail = {"instrument_id": instrument_id, "format": "fhir", **({"via": via} if via else {})}
    audit.record("import.fhir_questionnaire", user=user, detail=detail)
    return FhirImportReport(written_definition=target)


# --- Bundle -> administrations of existing clients --------------------------------------


@dataclass
class _Planned:
    """One QuestionnaireResponse checked and ready to be written."""

    client: Client
    episode_start: datetime.date
    episode_end: datetime.date | None
    session_number: int
    session_at: datetime.datetime
    instrument: Instrument
    answers: dict[str, Any]
    authored: datetime.datetime


def import_bundle(
    resource: dict[str, Any],
    organisation: Organisation,
    registry: Registry,
    *,
    user: Any = None,
    via: str = "",
) -> FhirImportReport:
    try:
        validate_resource(resource)
    except FHIRValidationError as error:
        raise InteropError(f"the Bundle is not valid FHIR R4: {error}") from None
    by_reference = {
        f"{entry['resource']['resourceType']}/{entry['resource']['id']}": entry["resource"]
        for entry in resource.get("entry", [])
        if "id" in entry.get("resource", {})
    }
    report = FhirImportReport()
    problems: list[str] = []
    planned: list[_Planned] = []
    for reference, item in by_reference.items():
        kind = item["resourceType"]
        if kind == "Observation":
            report.observations_recomputed += 1
        elif kind == "QuestionnaireResponse":
            try:
                planned.append(_plan(item, by_reference, organisation, registry))
            except InteropError as error:
                problems.append(f"{reference}: {error}")
    if problems:
        raise InteropError("nothing was imported:\n" + "\n".join(f"  - {p}" for p in problems))
    with transaction.atomic():
        for plan in planned:
            _write(plan, report, problems)
        if problems:
            transaction.set_rollback(True)
        else:
            audit.record(
                "import.fhir",
                user=user,
                obj=organisation,
                detail={
                    "format": "fhir",
                    "rows": len(planned),
                    "count": report.created_administrations,
                    **({"via": via} if via else {}),
                },
            )
    if problems:
        raise InteropError("nothing was imported:\n" + "\n".join(f"  - {p}" for p in problems))
    return report


def _plan(
    response: dict[str, Any],
    resources: dict[str, dict[str, Any]],
    organisation: Organisation,
    registry: Registry,
) -> _Planned:
    encounter = _referenced(resources, response.get("encounter"), "Encounter")
    patient = _referenced(resources, response.get("subject"), "Patient")
    episode = _referenced(resources, (encounter.get("episodeOfCare") or [None])[0], "EpisodeOfCare")
    system = record_number_system(organisation)
    record_number = next(
        (i.get("value") for i in patient.get("identifier", []) if i.get("system") == system), None
    )
    if record_number is None:
        raise InteropError(f"the Patient has no identifier of system {system}")
    client = Client.objects.filter(organisation=organisation, record_number=record_number).first()
    if client is None:
        raise InteropError(f"no client {record_number!r} in {organisation.slug}; create it first")
    number = next(
        (
            i.get("value")
            for i in encounter.get("identifier", [])
            if i.get("system") == session_number_system()
        ),
        None,
    )
    if number is None or not str(number).isdigit():
        raise InteropError("the Encounter has no session-number identifier")
    canonical = str(response.get("questionnaire", ""))
    url, _, version = canonical.partition("|")
    instrument_id = url.rstrip("/").rsplit("/", 1)[-1]
    instrument = registry.get(instrument_id, version=version or None)
    if instrument is None:
        raise InteropError(f"questionnaire {canonical!r} is not a loaded instrument version")
    try:
        answers = answers_from_questionnaire_response(instrument, response)
    except (FHIRImportError, FHIRValidationError) as error:
        raise InteropError(str(error)) from None
    period = episode.get("period", {})
    if "start" not in period or "start" not in encounter.get("period", {}):
        raise InteropError("the EpisodeOfCare and the Encounter need a period start")
    return _Planned(
        client=client,
        episode_start=_day(period["start"], "EpisodeOfCare.period.start"),
        episode_end=_day(period["end"], "EpisodeOfCare.period.end") if "end" in period else None,
        session_number=int(number),
        session_at=_moment(encounter["period"]["start"], "Encounter.period.start"),
        instrument=instrument,
        answers=answers,
        authored=_moment(response.get("authored"), "QuestionnaireResponse.authored"),
    )


def _day(text: Any, where: str) -> datetime.date:
    try:
        return check_in_range(datetime.date.fromisoformat(str(text)[:10]))
    except ValueError as error:  # DateOutOfRange is a ValueError with its own message
        raise InteropError(f"{where} {text!r}: {error}") from None


def _moment(text: Any, where: str) -> datetime.datetime:
    try:
        return check_in_range(datetime.datetime.fromisoformat(str(text)))
    except ValueError as error:
        raise InteropError(f"{where} {text!r}: {error}") from None


def _referenced(resources: dict[str, dict[str, Any]], reference: Any, kind: str) -> dict[str, Any]:
    target = reference.get("reference") if isinstance(reference, dict) else None
    if not target or not target.startswith(f"{kind}/") or target not in resources:
        raise InteropError(f"its {kind} is not in the Bundle")
    return resources[target]


def _write(plan: _Planned, report: FhirImportReport, problems: list[str]) -> None:
    episode = Episode.objects.filter(client=plan.client, started_on=plan.episode_start).first()
    if episode is None:
        latest = plan.client.episodes.order_by("-started_on").first()
        if latest is None:
            problems.append(
                f"client {plan.client.record_number} has no episode to take a therapist from"
            )
            return
        closed = plan.episode_end is not None
        episode = Episode.objects.create(
            client=plan.client,
            therapist=latest.therapist,
            plan=latest.plan,
            started_on=plan.episode_start,
            ended_on=plan.episode_end,
            status=EpisodeStatus.CLOSED if closed else EpisodeStatus.ACTIVE,
            end_reason=EndReason.OTHER if closed else "",
        )
        report.created_episodes += 1
    session, created = Session.objects.get_or_create(
        episode=episode,
        number=plan.session_number,
        defaults={"scheduled_at": plan.session_at, "status": SessionStatus.ATTENDED},
    )
    report.created_sessions += int(created)
    stored = {key: value for key, value in plan.answers.items() if value is not None}
    existing = session.administrations.filter(instrument_id=plan.instrument.id).first()
    if existing is not None:
        if existing.answers == stored:
            report.unchanged += 1
        else:
            problems.append(
                f"client {plan.client.record_number} session {plan.session_number}: "
                f"{plan.instrument.id} already holds other answers"
            )
        return
    administration = Administration(
        session=session,
        instrument_id=plan.instrument.id,
        instrument_version=plan.instrument.version,
        construct=plan.instrument.construct,
        status=AdministrationStatus.COMPLETED,
        created_at=plan.authored,
        started_at=plan.authored,
        completed_at=plan.authored,
        answers=stored,
    )
    administration.apply_scores(plan.instrument.score(plan.answers))
    administration.save()
    report.created_administrations += 1
