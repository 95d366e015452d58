"""What every API route module shares: the scoped lookup by public id and date filters."""

from __future__ import annotations

import datetime
import uuid
from typing import TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest

from rapport.api.auth import require_scope
from rapport.api.models import Scope
from rapport.security.access import READ_CLINICAL, require_permission

M = TypeVar("M", bound=Model)


def clinical_read(request: HttpRequest) -> None:
    """Reading identified clinical records: the ``read`` scope and a clinical role (else 403)."""
    require_scope(request, Scope.READ)
    require_permission(request.user, READ_CLINICAL)


def get_in_scope(queryset: QuerySet[M], public_id: uuid.UUID) -> M:
    """The record ``public_id`` within ``queryset`` (already scoped to the user), else 404.

    Another therapist's or another clinic's record answers exactly like an unissued id.
    """
    found = queryset.filter(public_id=public_id).first()
    if found is None:
        raise Http404
    return found


def date_range(
    queryset: QuerySet, field: str, start: datetime.date | None, end: datetime.date | None
) -> QuerySet:
    """``queryset`` narrowed to ``start <= field <= end`` (either bound optional, inclusive)."""
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lte": end})
    return queryset
