"""``/alerts`` and ``POST /clients/{id}/checkin-links``: the check-in app through the API.

Alerts show codes and dates only: the acknowledgement note is free text and stays out.
A new check-in link is for the client's due session (rapport.checkin.links), and its URL
is returned once, like a token: only its hash is stored.
"""

from __future__ import annotations

import datetime
import uuid

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from rapport.api.auth import require_scope
from rapport.api.errors import ERROR_RESPONSES, ApiError, ErrorOut
from rapport.api.models import Scope
from rapport.api.pagination import PageParams, page_schema, paginate
from rapport.api.request_audit import record_request
from rapport.api.routes.common import clinical_read, date_range, get_in_scope
from rapport.checkin.links import NoDueSessionError, due_session, issue_link
from rapport.checkin.models import Alert, AlertKind, Channel
from rapport.core.date_range import BoundedDate
from rapport.security.access import (
    READ_CLINICAL,
    active_episode_of_client,
    clients_for,
    require_permission,
    visible_alerts,
)

router = Router(tags=["check-ins and alerts"])


class AlertOut(Schema):
    id: uuid.UUID = Field(..., alias="public_id")
    kind: AlertKind
    client: uuid.UUID = Field(..., alias="client.public_id")
    episode: uuid.UUID | None = None
    session: uuid.UUID | None = None
    code: str
    raised_at: datetime.datetime
    acknowledged_at: datetime.datetime | None

    @staticmethod
    def resolve_episode(alert) -> uuid.UUID | None:
        return alert.episode.public_id if alert.episode_id else None

    @staticmethod
    def resolve_session(alert) -> uuid.UUID | None:
        return alert.session.public_id if alert.session_id else None


AlertPage = page_schema(AlertOut, "AlertPage")


class AlertFilters(Schema):
    client: uuid.UUID | None = None
    kind: AlertKind | None = None
    open: bool | None = Field(None, description="true: not yet acknowledged")
    raised_from: BoundedDate | None = None
    raised_to: BoundedDate | None = None


class CheckinLinkOut(Schema):
    id: uuid.UUID
    url: str
    expires_at: datetime.datetime
    session: uuid.UUID
    session_number: int


@router.get("/alerts", response={200: AlertPage, **ERROR_RESPONSES}, url_name="alerts")
def list_alerts(
    request: HttpRequest, page: Query[PageParams], filters: Query[AlertFilters]
) -> dict:
    clinical_read(request)
    alerts = (
        visible_alerts(
            request.user, Alert.objects.filter(organisation_id=request.user.organisation_id)
        )
        .select_related("client", "episode", "session")
        .order_by("raised_at", "pk")
    )
    if filters.client is not None:
        alerts = alerts.filter(client__public_id=filters.client)
    if filters.kind is not None:
        alerts = alerts.filter(kind=filters.kind)
    if filters.open is not None:
        alerts = alerts.filter(acknowledged_at__isnull=filters.open)
    alerts = date_range(alerts, "raised_at__date", filters.raised_from, filters.raised_to)
    result = paginate(alerts, page)
    record_request(request, object_type="checkin.alert", count=len(result["items"]))
    return result


@router.post(
    "/clients/{client_id}/checkin-links",
    response={201: CheckinLinkOut, 409: ErrorOut, **ERROR_RESPONSES},
    url_name="client-checkin-links",
)
def create_checkin_link(request: HttpRequest, client_id: uuid.UUID) -> Status:
    """A one-time check-in link for the client's due session (scope ``write``)."""
    require_scope(request, Scope.WRITE)
    require_permission(request.user, READ_CLINICAL)
    client = get_in_scope(clients_for(request.user), client_id)
    # Only an active episode the user treats or supervises: a former therapist still
    # sees the client, not their new episode with someone else.
    episode = active_episode_of_client(request.user, client)
    if episode is None:
        raise ApiError(409, f"client {client.record_number} has no active episode in your caseload")
    try:
        session = due_session(episode)
    except NoDueSessionError as error:
        raise ApiError(409, str(error)) from None
    issued = issue_link(session, channel=Channel.PRINT, created_by=request.user, request=request)
    record_request(request, obj=issued.link, status_code=201)
    return Status(
        201,
        {
            "id": issued.link.public_id,
            "url": issued.url,
            "expires_at": issued.link.expires_at,
            "session": session.public_id,
            "session_number": session.number,
        },
    )
