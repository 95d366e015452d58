"""rapport etr fit stores numbered versions; current_expected_response returns the newest."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from rapport.accounts.models import Role
from rapport.clinic.models import Episode
from rapport.insights.etr import completed_episode_scores, current_expected_response
from rapport.insights.models import ExpectedResponseFit
from rapport.psychometrics import ExpectedResponseModel, fit_expected_response
from rapport.testing import add_score, make_episode, make_organisation, make_user


@pytest.mark.django_db
def test_fit_stores_versions_and_the_latest_is_current(synth_clinic):
    organisation = synth_clinic.organisation
    assert current_expected_response(organisation, "phq9") is None
    call_command("etr", "fit", org=organisation.slug, instrument="phq9")
    call_command("etr", "fit", org=organisation.slug, instrument="phq9")
    fits = ExpectedResponseFit.objects.filter(organisation=organisation, instrument_id="phq9")
    assert list(fits.values_list("version", flat=True)) == [1, 2]
    latest = fits.get(version=2)
    current = current_expected_response(organisation, "phq9")
    assert isinstance(current, ExpectedResponseModel)
    assert current.to_dict() == latest.parameters
    assert current.fit_date == latest.parameters["fit_date"]
    assert latest.n_episodes == current.n_episodes and latest.method == current.method
    # the stored parameters are the model fitted on the completed episodes' scores
    scores = completed_episode_scores(organisation, "phq9")
    refit = fit_expected_response(scores, rci=6, score_range=(0, 27), fit_date=current.fit_date)
    assert refit.method == current.method
    for band, coefficients in current.coefficients.items():
        assert refit.coefficients[band] == pytest.approx(coefficients, abs=1e-9)
    assert current_expected_response(make_organisation(), "phq9") is None


@pytest.mark.django_db
def test_fit_falls_back_to_reliable_change_with_little_data():
    organisation = make_organisation()
    with pytest.raises(CommandError, match="no completed episodes"):
        call_command("etr", "fit", org=organisation.slug)
    therapist = make_user(organisation, Role.THERAPIST)
    for intake in (15, 18, 20):
        episode = make_episode(therapist, sessions=3)
        for number, score in zip((1, 2, 3), (intake, intake - 2, intake - 5), strict=True):
            add_score(episode.sessions.get(number=number), "phq9", score, construct="outcome")
        Episode.objects.filter(pk=episode.pk).update(
            status="closed", end_reason="completed", ended_on=episode.started_on
        )
    call_command("etr", "fit", org=organisation.slug)
    stored = ExpectedResponseFit.objects.get(organisation=organisation)
    assert stored.method == "reliable_change" and stored.n_episodes == 3
    assert current_expected_response(organisation, "phq9").rci == 6


@pytest.mark.django_db
def test_fit_rejects_unknown_organisation_and_instrument():
    with pytest.raises(CommandError, match="no organisation"):
        call_command("etr", "fit", org="nope")
    with pytest.raises(CommandError, match="unknown instrument"):
        call_command("etr", "fit", instrument="nope")
