"""``/plans``: the organisation's measurement plans (which instruments, at which sessions).

Plans hold no client data, so any role of the organisation may read them.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Query, Router

from rapport.api.auth import require_scope
from rapport.api.errors import ERROR_RESPONSES
from rapport.api.models import Scope
from rapport.api.pagination import PageParams, page_schema, paginate
from rapport.api.request_audit import record_request
from rapport.api.schemas import PlanOut
from rapport.clinic.models import MeasurementPlan

router = Router(tags=["measurement plans"])
PlanPage = page_schema(PlanOut, "PlanPage")


@router.get("/plans", response={200: PlanPage, **ERROR_RESPONSES}, url_name="plans")
def list_plans(request: HttpRequest, page: Query[PageParams]) -> dict:
    require_scope(request, Scope.READ)
    plans = (
        MeasurementPlan.objects.filter(organisation_id=request.user.organisation_id)
        .prefetch_related("entries")
        .order_by("pk")
    )
    result = paginate(plans, page)
    record_request(request, object_type="clinic.measurementplan", count=len(result["items"]))
    return result
