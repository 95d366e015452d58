"""``/administrations``: questionnaires given at sessions in scope, with answers and scores."""

from __future__ import annotations

import uuid
from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from rapport.api.errors import ERROR_RESPONSES
from rapport.api.pagination import PageParams, page_schema, paginate
from rapport.api.request_audit import record_request
from rapport.api.routes.common import clinical_read, date_range, get_in_scope
from rapport.api.schemas import AdministrationOut
from rapport.clinic.models import Administration, AdministrationStatus
from rapport.core.date_range import BoundedDate
from rapport.security.access import administrations_for

router = Router(tags=["administrations and scores"])
AdministrationPage = page_schema(AdministrationOut, "AdministrationPage")


# Instrument ids are lower-case identifiers (the definition loader enforces the same
# shape); anything else, such as a NUL byte, is refused with 422 before any query.
InstrumentId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]


class AdministrationFilters(Schema):
    client: uuid.UUID | None = None
    episode: uuid.UUID | None = None
    session: uuid.UUID | None = None
    instrument: InstrumentId | None = None
    status: AdministrationStatus | None = None
    completed_from: BoundedDate | None = None
    completed_to: BoundedDate | None = None


def visible_administrations(request: HttpRequest) -> QuerySet[Administration]:
    """Administrations at sessions in the user's scope that the user may see.

    The access layer drops relationship answers that clients were told only supervisors
    read (:func:`rapport.security.access.may_see_relationship_answers`), exactly as on the
    client page.
    """
    return administrations_for(request.user).select_related("session__episode__client")


@router.get(
    "/administrations",
    response={200: AdministrationPage, **ERROR_RESPONSES},
    url_name="administrations",
)
def list_administrations(
    request: HttpRequest, page: Query[PageParams], filters: Query[AdministrationFilters]
) -> dict:
    clinical_read(request)
    administrations = visible_administrations(request).order_by("created_at", "pk")
    if filters.client is not None:
        administrations = administrations.filter(session__episode__client__public_id=filters.client)
    if filters.episode is not None:
        administrations = administrations.filter(session__episode__public_id=filters.episode)
    if filters.session is not None:
        administrations = administrations.filter(session__public_id=filters.session)
    if filters.instrument is not None:
        administrations = administrations.filter(instrument_id=filters.instrument)
    if filters.status is not None:
        administrations = administrations.filter(status=filters.status)
    administrations = date_range(
        administrations, "completed_at__date", filters.completed_from, filters.completed_to
    )
    result = paginate(administrations, page)
    record_request(request, object_type="clinic.administration", count=len(result["items"]))
    return result


@router.get(
    "/administrations/{administration_id}",
    response={200: AdministrationOut, **ERROR_RESPONSES},
    url_name="administration",
)
def get_administration(request: HttpRequest, administration_id: uuid.UUID) -> Administration:
    clinical_read(request)
    administration = get_in_scope(visible_administrations(request), administration_id)
    record_request(request, obj=administration)
    return administration
