"""/healthz (the process answers) and /readyz (this instance can serve): for load balancers.
/metrics: for Prometheus, closed unless configured (rapport.operations.metrics).

All three show no client data, no version and no configuration detail.
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST

from rapport.operations.metrics import ScrapeDecision, exposition, scrape_decision
from rapport.operations.readiness import readiness_checks
from rapport.security.access import public


@public
@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Alive: answers without touching the database, so a slow database never restarts us."""
    return HttpResponse("ok\n", content_type="text/plain")


@public
@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    checks = readiness_checks()
    ready = all(check.ok for check in checks)
    return JsonResponse(
        {
            "ready": ready,
            "checks": {check.name: "ok" if check.ok else "failing" for check in checks},
        },
        status=200 if ready else 503,
    )


@public  # not a staff page: a scraper signs in with its own token or network (metrics.py)
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    decision = scrape_decision(request)
    if decision is ScrapeDecision.NOT_CONFIGURED:
        raise Http404
    if decision is ScrapeDecision.NEEDS_TOKEN:
        response = HttpResponse(
            "a bearer token is required\n", status=401, content_type="text/plain"
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if decision is ScrapeDecision.REFUSED:
        return HttpResponse("not allowed\n", status=403, content_type="text/plain")
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
