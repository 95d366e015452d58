"""The ``/api/v1/`` API: one NinjaAPI, its routers, error handlers and URL patterns.

The OpenAPI 3 document is served at ``/api/v1/openapi.json``. Ninja's interactive docs
page is switched off: it loads Swagger UI from a CDN, which the Content-Security-Policy
forbids (and a clinical system should not pull third-party scripts anyway).
"""

from __future__ import annotations

from django.urls import URLPattern, URLResolver
from django.views.decorators.http import require_safe
from ninja import NinjaAPI
from ninja.operation import Operation

from rapport.api.auth import TokenAuth
from rapport.api.errors import install_handlers
from rapport.api.routes import administrations, checkin, clients, episodes, plans
from rapport.security.access import public

URL_NAMESPACE = "api-v1"


class RapportAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI operation ids are the view names in lower camelCase.

    Ninja's default joins the module path (``rapport_api_routes_clients_list_clients``),
    which client generators turn into function names; ``listClients`` reads as what it
    does and survives moving a view between modules. The view names are therefore a
    verb and a noun (``list_clients``, ``get_client``, ``create_checkin_link``) and are
    unique across routers; ninja warns about a repeated id.
    """

    def get_openapi_operation_id(self, operation: Operation) -> str:
        first, *rest = operation.view_func.__name__.split("_")
        return first + "".join(word.capitalize() for word in rest)


api = RapportAPI(
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
