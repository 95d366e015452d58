"""Validation of FHIR R4 JSON with the ``fhir.resources`` models, and Bundles.

``fhir.resources`` 8.x (pydantic v2) ships FHIR R5 as its default package and
R4B (4.3.0) and STU3 as subpackages; the last release line modelling R4 (4.0.1)
itself, 6.x, needs pydantic v1. Rapport validates with the R4B models, which
for the four resources it exchanges (Questionnaire, QuestionnaireResponse,
Observation, Bundle) have the same elements as R4. ``fhir.resources`` checks
structure, types, cardinality and choice types, but not required value-set
bindings, so the codes Rapport reads or writes in required bindings are
checked here against the R4 value sets. See ``docs/fhir.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from rapport.instruments.fhir.errors import FHIRValidationError
from rapport.instruments.fhir.systems import DEFAULT_BASE_URL

# Required bindings in R4 (4.0.1) for the elements Rapport uses.
R4_QUESTIONNAIRE_STATUS = ("draft", "active", "retired", "unknown")
R4_ITEM_TYPES = (
    "group", "display", "boolean", "decimal", "integer", "date", "dateTime", "time", "string",
    "text", "url", "choice", "open-choice", "attachment", "reference", "quantity",
)  # fmt: skip
R4_RESPONSE_STATUS = ("in-progress", "completed", "amended", "entered-in-error", "stopped")
R4_OBSERVATION_STATUS = (
    "registered", "preliminary", "final", "amended", "corrected", "cancelled",
    "entered-in-error", "unknown",
)  # fmt: skip
R4_BUNDLE_TYPES = (
    "document", "message", "transaction", "transaction-response", "batch", "batch-response",
    "history", "searchset", "collection",
)  # fmt: skip
BUNDLE_TYPES_BUILT = ("collection", "transaction", "batch")


def validate_resource(resource: Mapping[str, Any]) -> None:
    """Validate one FHIR R4 resource given as JSON (a dict); return nothing if it is valid.

    Parameters
    ----------
    resource : Mapping
        A resource with ``resourceType``; Bundles are validated with their entries.

    Raises
    ------
    FHIRValidationError
        Not a resource, an unknown resource type, a structural problem (the
        pydantic message, naming the element path), or a code outside an R4
        required value set (for example ``Questionnaire.status``).

    Examples
    --------
    >>> validate_resource({"resourceType": "Questionnaire", "status": "active"})
    >>> validate_resource({"resourceType": "Questionnaire", "status": "published"})
    Traceback (most recent call last):
    ...
    rapport.instruments.fhir.errors.FHIRValidationError: Questionnaire.status: 'published' is not one of draft, active, retired, unknown (R4 required binding)
    """  # noqa: E501
    resource_type = resource.get("resourceType") if isinstance(resource, Mapping) else None
    if not isinstance(resource_type, str):
        raise FHIRValidationError("not a FHIR resource: expected a JSON object with resourceType")
    try:
        model = get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError) as exc:
        raise FHIRValidationError(f"unknown FHIR resource type {resource_type!r}") from exc
    try:
        model.model_validate(dict(resource))
    except ValidationError as exc:
        raise FHIRValidationError(f"{resource_type} is not valid FHIR: {exc}") from exc
    problems = list(_required_code_problems(resource))
    if problems:
        raise FHIRValidationError("; ".join(problems))


def _required_code_problems(resource: Mapping[str, Any]) -> Iterator[str]:
    resource_type = resource["resourceType"]
    checks: dict[str, tuple[str, Sequence[str]]] = {
        "Questionnaire": ("status", R4_QUESTIONNAIRE_STATUS),
        "QuestionnaireResponse": ("status", R4_RESPONSE_STATUS),
        "Observation": ("status", R4_OBSERVATION_STATUS),
        "Bundle": ("type", R4_BUNDLE_TYPES),
    }
    if resource_type in checks:
        field, allowed = checks[resource_type]
        yield from _code_problem(f"{resource_type}.{field}", resource.get(field), allowed)
    if resource_type == "Questionnaire":
        yield from _item_type_problems(resource.get("item", []), "Questionnaire.item")
    if resource_type == "Bundle":
        for index, entry in enumerate(resource.get("entry", [])):
            if "resource" in entry:
                for problem in _required_code_problems(entry["resource"]):
                    yield f"Bundle.entry[{index}]: {problem}"


def _item_type_problems(items: Sequence[Mapping[str, Any]], where: str) -> Iterator[str]:
    for index, item in enumerate(items):
        yield from _code_problem(f"{where}[{index}].type", item.get("type"), R4_ITEM_TYPES)
        yield from _item_type_problems(item.get("item", []), f"{where}[{index}].item")


def _code_problem(where: str, code: Any, allowed: Sequence[str]) -> Iterator[str]:
    if code is not None and code not in allowed:
        yield f"{where}: {code!r} is not one of {', '.join(allowed)} (R4 required binding)"


def bundle(
    resources: Sequence[Mapping[str, Any]],
    *,
    bundle_type: str = "collection",
    base_url: str = DEFAULT_BASE_URL,
) -> dict[str, Any]:
    """Wrap resources in a validated FHIR R4 Bundle.

    Parameters
    ----------
    resources : sequence of dict
        FHIR resources (each with ``resourceType``; ``id`` recommended).
    bundle_type : {"collection", "transaction", "batch"}
        ``transaction``/``batch`` entries get a ``request``: ``PUT Type/id``
        when the resource has an id, else ``POST Type``.
    base_url : str
        Server base for ``fullUrl`` (``{base_url}/{Type}/{id}``) of resources with an id.

    Returns
    -------
    dict
        The Bundle resource.

    Raises
    ------
    ValueError
        An unsupported ``bundle_type`` (``document`` and ``message`` need a
        Composition or MessageHeader first, which Rapport does not build).
    FHIRValidationError
        A resource, or the Bundle, is not valid FHIR R4.

    Examples
    --------
    >>> bundle([{"resourceType": "Questionnaire", "id": "q1", "status": "active"}])["entry"][0]
    {'fullUrl': 'https://rapport.example/fhir/Questionnaire/q1', 'resource': {'resourceType': 'Questionnaire', 'id': 'q1', 'status': 'active'}}
    """  # noqa: E501
    if bundle_type not in BUNDLE_TYPES_BUILT:
        raise ValueError(
            f"bundle_type must be one of {', '.join(BUNDLE_TYPES_BUILT)} (got {bundle_type!r})"
        )
    entries = []
    for resource in resources:
        validate_resource(resource)
        resource_type, resource_id = resource["resourceType"], resource.get("id")
        entry: dict[str, Any] = {}
        if resource_id:
            entry["fullUrl"] = f"{base_url}/{resource_type}/{resource_id}"
        entry["resource"] = dict(resource)
        if bundle_type != "collection":
            entry["request"] = (
                {"method": "PUT", "url": f"{resource_type}/{resource_id}"}
                if resource_id
                else {"method": "POST", "url": resource_type}
            )
        entries.append(entry)
    result = {"resourceType": "Bundle", "type": bundle_type, "entry": entries}
    validate_resource(result)
    return result
