"""get_insights_organisation, the access decision of every insight view, and the names
its tables may carry (insight_therapist_names)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory

from rapport.security.access import get_insights_organisation, insight_therapist_names
from rapport.security.models import AuditEvent
from rapport.testing import make_two_clinics


@pytest.fixture
def clinics(db):
    return make_two_clinics()


def _request(user):
    request = RequestFactory().get("/insights/")
    request.user = user
    return request


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["supervisor", "clinic_admin", "researcher"])
def test_aggregate_roles_get_their_own_organisation_audited(clinics, persona):
    organisation = get_insights_organisation(
        _request(clinics.staff[persona]), action="insights.view"
    )
    assert organisation == clinics.organisation
    event = AuditEvent.objects.get(action="insights.view")
    assert event.object_id == str(clinics.organisation.public_id)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["owner", "colleague", "outsider"])
def test_therapists_are_refused_before_anything_is_read(clinics, persona):
    with pytest.raises(PermissionDenied):
        get_insights_organisation(_request(clinics.staff[persona]), action="insights.view")
    assert not AuditEvent.objects.filter(action="insights.view").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["supervisor", "clinic_admin"])
def test_staff_read_their_own_clinics_therapists_by_name(clinics, persona):
    asked = {clinics.owner.pk, clinics.colleague.pk, clinics.outsider.pk}

    names = insight_therapist_names(clinics.staff[persona], asked)

    # Another clinic's account is never named, whatever id a table carries.
    assert names == {
        clinics.owner.pk: str(clinics.owner),
        clinics.colleague.pk: str(clinics.colleague),
    }


@pytest.mark.django_db
def test_researchers_get_no_names(clinics):
    assert insight_therapist_names(clinics.researcher, {clinics.owner.pk}) == {}


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["owner", "outsider"])
def test_therapists_get_no_names_of_colleagues(clinics, persona):
    with pytest.raises(PermissionDenied):
        insight_therapist_names(clinics.staff[persona], {clinics.colleague.pk})
