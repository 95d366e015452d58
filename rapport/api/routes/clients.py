"""``/clients``: clients of the token owner's caseload; with scope ``identity``, who they are."""

from __future__ import annotations

import uuid

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja import Query, Router, Schema

from rapport.api.auth import require_scope
from rapport.api.errors import ERROR_RESPONSES
from rapport.api.models import Scope
from rapport.api.pagination import PageParams, page_schema, paginate
from rapport.api.request_audit import record_request
from rapport.api.routes.common import clinical_read, date_range, get_in_scope
from rapport.api.schemas import ClientIdentityOut, ClientOut
from rapport.clinic.models import Client, ClientIdentity
from rapport.core.date_range import BoundedDate
from rapport.security.access import clients_for, may_see_identity

router = Router(tags=["clients"])
ClientPage = page_schema(ClientOut, "ClientPage")


class ClientFilters(Schema):
    created_from: BoundedDate | None = None
    created_to: BoundedDate | None = None


@router.get("/clients", response={200: ClientPage, **ERROR_RESPONSES}, url_name="clients")
def list_clients(
    request: HttpRequest, page: Query[PageParams], filters: Query[ClientFilters]
) -> dict:
    """Clients with an episode the token's owner may see, oldest first."""
    clinical_read(request)
    clients = clients_for(request.user).select_related("site").order_by("created_at", "pk")
    clients = date_range(clients, "created_at__date", filters.created_from, filters.created_to)
    result = paginate(clients, page)
    record_request(request, object_type="clinic.client", count=len(result["items"]))
    return result


@router.get(
    "/clients/{client_id}",
    response={200: ClientOut, **ERROR_RESPONSES},
    url_name="client",
)
def get_client(request: HttpRequest, client_id: uuid.UUID) -> Client:
    clinical_read(request)
    client = get_in_scope(clients_for(request.user).select_related("site"), client_id)
    record_request(request, obj=client)
    return client


@router.get(
    "/clients/{client_id}/identity",
    response={200: ClientIdentityOut, **ERROR_RESPONSES},
    url_name="client-identity",
)
def get_client_identity(request: HttpRequest, client_id: uuid.UUID) -> dict:
    """Names, contact details and date of birth; needs the ``identity`` scope (audited).

    The token's owner must also be allowed to read identities on the web (the treating
    therapist: :func:`rapport.security.access.may_see_identity`); a supervisor gets 403.
    """
    clinical_read(request)
    require_scope(request, Scope.IDENTITY)
    if not may_see_identity(request.user):
        raise PermissionDenied("your role does not read client identities")
    client = get_in_scope(clients_for(request.user), client_id)
    identity = ClientIdentity.objects.filter(client=client).first()
    record_request(request, obj=client, identity=True)
    return {
        "client": client.public_id,
        "given_name": identity.given_name if identity else "",
        "family_name": identity.family_name if identity else "",
        "email": identity.email if identity else "",
        "phone": identity.phone if identity else "",
        "date_of_birth": identity.date_of_birth if identity else None,
    }
