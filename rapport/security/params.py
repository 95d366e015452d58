"""Allow-listed sort and filter parameters.

Request values never reach ``order_by()``, ``filter(**...)`` or ``annotate(**...)``
directly (OpenEMR's ``sortby`` SQL injection; Django CVE-2022-28346 and CVE-2026-1312).
A view names the values it accepts; anything else is a 400 Bad Request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from django.core.exceptions import BadRequest
from django.http import HttpRequest

T = TypeVar("T")


def choice(request: HttpRequest, name: str, allowed: Mapping[str, T], default: str) -> T:
    """The value ``allowed`` maps the query parameter ``name`` to (``default`` if absent).

    Raises ``BadRequest`` (400) for any value that is not a key of ``allowed``.
    """
    if default not in allowed:
        raise ValueError(f"default {default!r} for {name!r} is not one of the allowed values")
    raw = request.GET.get(name, default)
    if raw not in allowed:
        raise BadRequest(f"unsupported value for {name!r}")
    return allowed[raw]


def ordering(
    request: HttpRequest, allowed: Mapping[str, str], default: str, *, name: str = "sort"
) -> tuple[str, str]:
    """(key, ORM ordering) for ``?sort=key`` or ``?sort=-key`` (descending).

    ``allowed`` maps public sort keys to model field paths, e.g.
    ``{"record": "client__record_number"}``. The key is returned too, so templates can
    mark the active column.
    """
    if default.lstrip("-") not in allowed:
        raise ValueError(f"default {default!r} for {name!r} is not one of the allowed keys")
    raw = request.GET.get(name, default)
    key = raw[1:] if raw.startswith("-") else raw
    if key not in allowed:
        raise BadRequest(f"unsupported value for {name!r}")
    return raw, ("-" if raw.startswith("-") else "") + allowed[key]
