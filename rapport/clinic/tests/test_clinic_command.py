"""``rapport clinic create``: a new clinic with its standard plan and first clinic admin."""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.urls import reverse

from rapport.accounts.models import Role, User
from rapport.clinic.models import MeasurementPlan, Organisation
from rapport.clinic.plans import STANDARD_PLAN
from rapport.security.models import AuditEvent
from rapport.testing import login_verified, make_organisation, make_user

pytestmark = pytest.mark.django_db
PASSWORD = "quiet harbour lanterns 7"


def create(*args: str, password: str = PASSWORD, monkeypatch=None) -> str:
    out = io.StringIO()
    stdin = io.StringIO(password + "\n")
    if monkeypatch is not None:
        monkeypatch.setattr("sys.stdin", stdin)
    call_command("clinic", "create", *args, "--password-stdin", stdout=out)
    return out.getvalue()


def test_creates_the_clinic_its_plan_and_an_admin_who_can_sign_in(monkeypatch, client):
    message = create(
        "riverside",
        "--name",
        "Riverside Counselling",
        "--admin",
        "ana.admin",
        monkeypatch=monkeypatch,
    )
    organisation = Organisation.objects.get(slug="riverside")
    assert organisation.name == "Riverside Counselling"
    plan = MeasurementPlan.objects.get(organisation=organisation, is_default=True)
    entries = [
        (e.instrument_id, e.every_n_sessions, e.first_session)
        for e in plan.entries.order_by("position")
    ]
    assert entries == list(STANDARD_PLAN)
    admin = User.objects.get(username="ana.admin")
    assert (admin.organisation, admin.role) == (organisation, Role.CLINIC_ADMIN)
    assert authenticate(username="ana.admin", password=PASSWORD) == admin
    assert "ana.admin" in message and "authenticator app" in message
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"clinic.create", "staff.create"} <= actions
    login_verified(client, admin)
    rows = client.get(reverse("staff-list")).context["rows"]
    assert [row["member"] for row in rows] == [admin]


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (("taken", "--name", "X", "--admin", "new.admin"), PASSWORD, "slug"),
        (("fresh", "--name", "X", "--admin", "existing"), PASSWORD, "username"),
        (("not a slug", "--name", "X", "--admin", "new.admin"), PASSWORD, "slug"),
        (("fresh", "--name", "X", "--admin", "new.admin"), "short", "too short"),
        (("fresh", "--name", "X", "--admin", "new.admin"), "", "no password"),
    ],
)
def test_refuses_with_a_clear_error_and_creates_nothing(monkeypatch, args, password, message):
    make_user(make_organisation("taken"), username="existing")
    organisations, users = Organisation.objects.count(), User.objects.count()
    with pytest.raises(CommandError, match=message):
        create(*args, password=password, monkeypatch=monkeypatch)
    assert (Organisation.objects.count(), User.objects.count()) == (organisations, users)
    assert not AuditEvent.objects.filter(action="clinic.create").exists()


def test_the_password_is_asked_twice_at_a_terminal(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    answers = iter([PASSWORD, "something else entirely"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="did not match"):
        call_command("clinic", "create", "fresh", "--name", "X", "--admin", "a.b")
    assert not Organisation.objects.filter(slug="fresh").exists()


def test_without_a_terminal_the_password_must_come_on_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CommandError, match="--password-stdin"):
        call_command("clinic", "create", "fresh", "--name", "X", "--admin", "a.b")
