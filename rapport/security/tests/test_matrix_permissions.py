"""The role x permission matrix in rapport.security.access, tested exhaustively."""

import itertools
import re
import uuid
from pathlib import Path

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template import Context, Template
from django.test import RequestFactory

import rapport
from rapport.accounts.models import Role
from rapport.security import access
from rapport.security.models import AuditEvent
from rapport.testing import make_organisation, make_two_clinics, make_user

# Written out cell by cell (not derived from ROLE_PERMISSIONS), so that a change to the
# matrix has to be made twice, once on purpose.
GRANTED = {
    Role.THERAPIST: {access.READ_CLINICAL, access.READ_IDENTITY, access.CHANGE_CARE},
    Role.SUPERVISOR: {
        access.READ_CLINICAL,
        access.READ_SUPERVISOR_ONLY_ANSWERS,
        access.READ_TEAM,
        access.READ_AGGREGATES,
    },
    Role.CLINIC_ADMIN: {access.MANAGE_CLINIC, access.READ_AGGREGATES},
    Role.RESEARCHER: {access.READ_AGGREGATES},
}
ALL_PERMISSIONS = (
    "clinical.read",
    "identity.read",
    "care.change",
    "answers.read_supervisors_only",
    "team.read",
    "clinic.manage",
    "aggregates.read",
)
EXPECTED = {
    (role, permission): permission in GRANTED[role]
    for role in Role.values
    for permission in ALL_PERMISSIONS
}


def test_the_expected_table_covers_every_role_and_permission():
    assert set(ALL_PERMISSIONS) == access.PERMISSIONS
    assert set(EXPECTED) == set(itertools.product(Role.values, access.PERMISSIONS))


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "permission"), sorted(EXPECTED))
def test_role_permission(role, permission):
    user = make_user(make_organisation(), role)
    assert access.has_permission(user, permission) is EXPECTED[(role, permission)]


@pytest.mark.django_db
@pytest.mark.parametrize("permission", sorted(access.PERMISSIONS))
def test_inactive_anonymous_and_organisationless_users_have_no_permission(permission):
    user = make_user(make_organisation(), Role.SUPERVISOR)
    user.is_active = False
    assert not access.has_permission(user, permission)
    assert not access.has_permission(AnonymousUser(), permission)
    operator = make_user(make_organisation(), Role.CLINIC_ADMIN)
    operator.organisation = None
    assert not access.has_permission(operator, permission)


def test_an_unknown_permission_name_is_an_error_not_a_denial():
    with pytest.raises(ValueError, match="unknown permission"):
        access.has_permission(AnonymousUser(), "clinical.raed")


@pytest.mark.django_db
def test_require_permission_raises_403():
    researcher = make_user(make_organisation(), Role.RESEARCHER)
    with pytest.raises(PermissionDenied):
        access.require_permission(researcher, access.READ_CLINICAL)


# --- scoped querysets and view helpers ----------------------------------------------


@pytest.fixture
def clinics(db):
    return make_two_clinics()


def request_as(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.mark.parametrize(
    ("persona", "sees_owner_client"),
    [
        ("owner", True),
        ("supervisor", True),
        ("colleague", False),
        ("outsider", False),
        ("clinic_admin", False),
        ("researcher", False),
    ],
)
def test_clients_for_each_persona(clinics, persona, sees_owner_client):
    visible = access.clients_for(clinics.staff[persona])
    assert visible.filter(pk=clinics.owner_client.pk).exists() is sees_owner_client
    assert not visible.filter(pk=clinics.outsider_client.pk).exists() or persona == "outsider"


def test_get_client_or_404_audits_one_read(clinics):
    client = access.get_client_or_404(request_as(clinics.owner), clinics.owner_client.public_id)
    assert client == clinics.owner_client
    event = AuditEvent.objects.get(action="client.read")
    assert event.object_id == str(clinics.owner_client.public_id)
    assert event.actor_id == clinics.owner.pk


@pytest.mark.parametrize("persona", ["colleague", "outsider"])
def test_get_client_or_404_hides_out_of_scope_clients(clinics, persona):
    with pytest.raises(Http404):
        access.get_client_or_404(request_as(clinics.staff[persona]), clinics.owner_client.public_id)
    assert not AuditEvent.objects.filter(action="client.read").exists()


@pytest.mark.parametrize("persona", ["clinic_admin", "researcher"])
def test_get_client_or_404_refuses_roles_without_clinical_access_before_looking(clinics, persona):
    for public_id in [clinics.owner_client.public_id, uuid.uuid4()]:
        with pytest.raises(PermissionDenied):
            access.get_client_or_404(request_as(clinics.staff[persona]), public_id)


@pytest.mark.parametrize("bad_id", ["not-a-uuid", "", "1"])
def test_malformed_ids_are_404(clinics, bad_id):
    with pytest.raises(Http404):
        access.get_client_or_404(request_as(clinics.owner), bad_id)


def test_get_episode_or_404_follows_the_same_scope(clinics):
    episode_id = clinics.owner_episode.public_id
    assert access.get_episode_or_404(request_as(clinics.supervisor), episode_id)
    with pytest.raises(Http404):
        access.get_episode_or_404(request_as(clinics.colleague), episode_id)
    assert AuditEvent.objects.filter(action="episode.read").count() == 1


def test_view_markers():
    def view(request):
        return None

    assert access.view_access(view) == "staff"
    assert access.view_access(access.public(lambda request: None)) == "public"
    assert access.view_access(access.before_mfa(lambda request: None)) == "before_mfa"


def test_anonymous_users_get_empty_querysets_not_errors(db):
    assert list(access.episodes_for(AnonymousUser())) == []
    assert list(access.clients_for(AnonymousUser())) == []
    assert list(access.active_caseload(AnonymousUser())) == []
    assert list(access.administrations_for(AnonymousUser())) == []


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["clinic_admin", "researcher"])
def test_roles_without_clinical_access_see_no_answers(persona):
    clinics = make_two_clinics()
    every = clinics.owner_session.administrations.all()
    assert every.exists()
    assert list(access.without_hidden_answers(getattr(clinics, persona), every)) == []


# --- Templates read the same matrix: no role names in templates -------------------------

TEMPLATE_DIRS = sorted(Path(rapport.__file__).parent.glob("*/templates"))


def test_no_template_compares_role_names():
    offenders = [
        str(path)
        for directory in TEMPLATE_DIRS
        for path in directory.rglob("*.html")
        if re.search(r"\.role\s*[!=]=", path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "permission"), sorted(EXPECTED))
def test_the_template_filter_reads_the_matrix(role, permission):
    user = make_user(make_organisation(), role)
    rendered = Template("{% load permissions %}{% if user|may:name %}yes{% endif %}").render(
        Context({"user": user, "name": permission})
    )
    assert (rendered == "yes") is EXPECTED[(role, permission)]


def test_an_unknown_permission_in_a_template_is_an_error():
    template = Template('{% load permissions %}{% if user|may:"clinical.raed" %}yes{% endif %}')
    with pytest.raises(ValueError, match="unknown permission"):
        template.render(Context({"user": AnonymousUser()}))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("persona", "links"),
    [
        ("owner", {"Caseload", "Worklist"}),
        ("supervisor", {"Caseload", "Worklist", "Team", "Insights"}),
        ("clinic_admin", {"Staff", "Insights"}),
        ("researcher", {"Insights"}),
    ],
)
def test_the_navigation_offers_what_the_role_may_open(client, persona, links):
    from rapport.testing import login_verified

    clinics = make_two_clinics()
    login_verified(client, getattr(clinics, persona))
    page = client.get("/", follow=True).content.decode()
    nav = page.split('<nav aria-label="Account">')[1].split("</nav>")[0]
    shown = set(re.findall(r">(Caseload|Worklist|Team|Staff|Insights)</a>", nav))
    assert shown == links
