"""Limit/offset pagination with the total, the same for every list operation."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from ninja import Field, Schema
from pydantic import create_model

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class PageParams(Schema):
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="rows per page")
    offset: int = Field(0, ge=0, le=10_000_000, description="rows to skip")


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """A ``{items, total, limit, offset}`` schema for pages of ``item``."""
    return create_model(  # type: ignore[call-overload, no-any-return]
        name,
        __base__=Schema,
        items=(list[item], ...),  # type: ignore[valid-type]
        total=(int, ...),
        limit=(int, ...),
        offset=(int, ...),
    )


def paginate(queryset: QuerySet, params: PageParams) -> dict[str, Any]:
    """One page of ``queryset`` (which must be ordered) and the total row count."""
    total = queryset.count()
    rows = list(queryset[params.offset : params.offset + params.limit])
    return {"items": rows, "total": total, "limit": params.limit, "offset": params.offset}
