"""/healthz (the process answers) and /readyz (this instance can serve): for load balancers.

Both are public and show no client data, no version and no configuration detail.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

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
