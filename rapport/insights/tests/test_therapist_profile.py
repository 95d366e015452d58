"""The therapist relationship profile: who may see it, and what it says."""

from __future__ import annotations

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from rapport.accounts.models import Role
from rapport.insights import profiles, snapshots
from rapport.insights.models import InsightSnapshot
from rapport.security.access import may_see_therapist_profile
from rapport.testing import (
    add_score,
    login_verified,
    make_episode,
    make_two_clinics,
    make_user,
    reads_in,
    set_demographics,
)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clinics(db):
    return make_two_clinics()


def test_the_rule_per_role(clinics):
    other_supervisor = make_user(clinics.organisation, Role.SUPERVISOR)
    owner = clinics.owner
    assert may_see_therapist_profile(owner, owner)
    assert may_see_therapist_profile(clinics.supervisor, owner)
    assert not may_see_therapist_profile(other_supervisor, owner)
    assert not may_see_therapist_profile(clinics.colleague, owner)
    assert not may_see_therapist_profile(clinics.clinic_admin, owner)
    assert not may_see_therapist_profile(clinics.researcher, owner)
    assert not may_see_therapist_profile(clinics.outsider, owner)
    # A supervisor has no profile of their own to show (profiles are therapists').
    assert not may_see_therapist_profile(clinics.supervisor, clinics.supervisor)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("owner", 200),
        ("supervisor", 200),
        ("other_supervisor", 404),
        ("colleague", 404),
        ("clinic_admin", 403),
        ("researcher", 403),
        ("outsider", 404),
    ],
)
def test_the_page_per_role_and_audited(client, clinics, persona, status):
    from rapport.security.models import AuditEvent

    users = clinics.staff | {"other_supervisor": make_user(clinics.organisation, Role.SUPERVISOR)}
    login_verified(client, users[persona])
    response = client.get(reverse("therapist-profile", args=[clinics.owner.public_id]))
    assert response.status_code == status
    reads = AuditEvent.objects.filter(action="therapist_profile.read")
    assert reads.exists() == (status == 200)


def _clinic_with_groups(clinics, *, spanish: int, english: int) -> None:
    """The owner's caseload with trust scores and languages; colleagues for a clinic."""
    sessions = [(clinics.owner, "es", 4.0)] * spanish + [(clinics.owner, "en", 6.0)] * english
    for index in range(6):
        therapist = make_user(clinics.organisation, Role.THERAPIST)
        sessions += [
            (therapist, "es" if k % 3 == 0 else "en", 5.0 + (index % 3) * 0.3 + (k % 4) * 0.5)
            for k in range(8)
        ]
    for k, (therapist, language, trust) in enumerate(sessions):
        episode = make_episode(therapist, sessions=1)
        set_demographics(episode.client, language=language)
        add_score(episode.sessions.get(number=1), "rapport_trust", trust + (k % 3) * 0.2)


def test_own_profile_shows_estimates_against_the_clinic(client, clinics):
    _clinic_with_groups(clinics, spanish=12, english=12)
    login_verified(client, clinics.owner)
    response = client.get(reverse("my-profile"))
    page = response.content.decode()
    assert response.status_code == 200
    assert "My relationship profile" in page
    assert "Trust (mean of the client" in page
    assert "trust gap" in page
    # Never another therapist's name on the page.
    assert str(clinics.colleague) not in page


def test_too_few_clients_in_a_group_is_said_plainly(client, clinics):
    _clinic_with_groups(clinics, spanish=4, english=20)
    login_verified(client, clinics.owner)
    page = client.get(reverse("my-profile")).content.decode()
    # "and 1 others" could not read right: the rest are counted as "outside it".
    assert "not enough clients to say: 4 in the group and 20 outside it." in page
    assert "trust gap" not in page


def test_group_names_are_in_the_readers_language(client, clinics):
    _clinic_with_groups(clinics, spanish=4, english=20)
    reads_in(clinics.owner, "es")
    login_verified(client, clinics.owner)
    page = client.get(reverse("my-profile")).content.decode()
    assert "Idioma preferido: Español</strong>" in page
    assert "Idioma preferido: Inglés</strong>" in page
    assert "Spanish" not in page and "English</strong>" not in page


def test_a_small_caseload_is_pulled_further_to_the_clinic(clinics):
    _clinic_with_groups(clinics, spanish=0, english=3)
    small = profiles.therapist_profile(clinics.organisation, clinics.owner.pk)
    trust = next(e for e in small.estimates if e.label.startswith("Trust"))
    assert trust.n == 4  # three new clients and the fixture's own
    assert abs(trust.estimate - trust.clinic) < abs(trust.raw - trust.clinic)
    assert trust.shrinkage < 0.9


def _computing_forbidden(monkeypatch):
    def fail(organisation):
        raise AssertionError("the profile read the clinic's measures again")

    monkeypatch.setattr(profiles, "clinic_measures", fail)


def test_the_page_reads_the_fits_stored_with_the_snapshot(client, clinics, monkeypatch):
    _clinic_with_groups(clinics, spanish=12, english=12)
    computed = profiles.therapist_profile(clinics.organisation, clinics.owner.pk)
    assert any(gap.enough for gap in computed.gaps)  # a gap estimate to compare too
    cache.clear()
    snapshots.refresh(clinics.organisation)
    _computing_forbidden(monkeypatch)
    assert profiles.therapist_profile(clinics.organisation, clinics.owner.pk) == computed
    login_verified(client, clinics.owner)
    page = client.get(reverse("my-profile")).content.decode()
    assert computed.estimates[0].shown["interval"] in page


def test_a_therapist_without_episodes_gets_an_empty_profile_from_the_snapshot(clinics, monkeypatch):
    _clinic_with_groups(clinics, spanish=0, english=3)
    snapshots.refresh(clinics.organisation)
    _computing_forbidden(monkeypatch)
    newcomer = make_user(clinics.organisation, Role.THERAPIST)
    profile = profiles.therapist_profile(clinics.organisation, newcomer.pk)
    assert (profile.n_clients, profile.estimates, profile.gaps) == (0, [], [])
    assert len(profile.missing) == len(profiles.MEASURES)


def test_a_stale_snapshot_is_not_used_for_the_profile(clinics, settings):
    _clinic_with_groups(clinics, spanish=0, english=3)
    snapshots.refresh(clinics.organisation)
    stored = profiles.therapist_profile(clinics.organisation, clinics.owner.pk)
    # One more client with a low trust score after the snapshot; once it is stale the
    # profile is computed again and counts them.
    episode = make_episode(clinics.owner, sessions=1)
    add_score(episode.sessions.get(number=1), "rapport_trust", 1.0)
    assert profiles.therapist_profile(clinics.organisation, clinics.owner.pk) == stored
    InsightSnapshot.objects.update(computed_at=timezone.now() - datetime.timedelta(hours=25))
    fresh = profiles.therapist_profile(clinics.organisation, clinics.owner.pk)
    assert fresh.n_clients == stored.n_clients + 1


def test_the_insight_pages_do_not_load_the_profile_fits(clinics):
    snapshots.refresh(clinics.organisation)
    assert "profiles" in snapshots.current(clinics.organisation).get_deferred_fields()
