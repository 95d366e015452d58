"""The ``/api/v1/`` API: one NinjaAPI, its routers, error handlers and URL patterns.

The OpenAPI 3 document is served at ``/api/v1/openapi.json``. Ninja's interactive docs
page is switched off: it loads Swagger UI from a CDN, which the Content-Security-Policy
forbids (and a clinical system should not pull third-party scripts anyway).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver
from django.views.decorators.http import require_safe
from ninja import NinjaAPI

from rapport.api.auth import TokenAuth
from rapport.api.errors import install_handlers
from rapport.api.routes import administrations, checkin, clients, episodes, plans
from rapport.security.access import public

URL_NAMESPACE = "api-v1"

api = NinjaAPI(
    title="Rapport API",
    version="1",
    description=(
        "Pseudonymous clinical records of the token owner's caseload, measurement plans, "
        "administrations and scores. Authenticate with 'Authorization: Bearer <token>' "
        "(create one with `rapport api token create`). See docs/api.md."
    ),
    auth=TokenAuth(),
    urls_namespace=URL_NAMESPACE,
    openapi_url="/openapi.json",
    docs_url=None,
    docs_decorator=require_safe,
)
install_handlers(api)
for module in (clients, episodes, plans, administrations, checkin):
    api.add_router("", module.router)


def url_patterns() -> list[URLPattern | URLResolver]:
    """The API's URL patterns, each view marked public for the staff gate.

    The staff gate guards browser sessions (sign-in + MFA); API operations authenticate
    their bearer token themselves (auth.py), and the OpenAPI document describes the API,
    not any record, so integrators may fetch it without a token.
    """
    patterns, _app_name, namespace = api.urls
    if namespace != URL_NAMESPACE:
        raise RuntimeError(f"the API's URL namespace must be {URL_NAMESPACE!r}, not {namespace!r}")
    for pattern in patterns:
        public(pattern.callback)
    return patterns
