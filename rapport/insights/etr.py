"""Expected treatment response: fitted on a clinic's completed episodes, stored by version.

:func:`fit` runs :func:`rapport.psychometrics.fit_expected_response` on the completed
episodes of one organisation and stores the result as a new :class:`ExpectedResponseFit`
version; :func:`current_expected_response` returns the newest version, which the
not-on-track flag uses. Old versions are kept so that every past flag can be reproduced.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max

from rapport.clinic.models import EndReason, EpisodeStatus, Organisation
from rapport.insights import data
from rapport.insights.models import ExpectedResponseFit
from rapport.instruments import Instrument
from rapport.psychometrics import ExpectedResponseModel, fit_expected_response


def completed_episode_scores(organisation: Organisation, instrument_id: str):
    """Long scores (``episode, session, score``) of the episodes that ended as completed."""
    scores = data.session_scores(organisation, instrument_id)
    completed = data.episodes(organisation)
    completed = completed[
        (completed["status"] == EpisodeStatus.CLOSED)
        & (completed["end_reason"] == EndReason.COMPLETED)
    ]
    return scores[scores["episode"].isin(completed["episode"])]


def fit(organisation: Organisation, instrument: Instrument) -> ExpectedResponseFit:
    """Fit the instrument's expected response on the clinic's completed episodes; a new version.

    Raises ``ValueError`` (from the fit) when there is too little data and the instrument
    has no published reliable-change threshold for the fallback.
    """
    scores = completed_episode_scores(organisation, instrument.id)
    if scores.empty:
        raise ValueError(f"no completed episodes with {instrument.id} scores to fit on yet")
    model = fit_expected_response(
        scores, rci=instrument.reliable_change, score_range=instrument.score_range
    )
    with transaction.atomic():
        # Lock the organisation row so that two fits at once cannot take the same number.
        Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
        latest = ExpectedResponseFit.objects.filter(
            organisation=organisation, instrument_id=instrument.id
        ).aggregate(version=Max("version"))["version"]
        return ExpectedResponseFit.objects.create(
            organisation=organisation,
            instrument_id=instrument.id,
            version=(latest or 0) + 1,
            parameters=model.to_dict(),
            n_episodes=model.n_episodes,
            method=model.method,
        )


def current_expected_response(
    organisation: Organisation, instrument_id: str
) -> ExpectedResponseModel | None:
    """The newest fitted model of ``instrument_id`` for ``organisation`` (None if never fitted)."""
    latest = (
        ExpectedResponseFit.objects.filter(organisation=organisation, instrument_id=instrument_id)
        .order_by("-version")
        .first()
    )
    return None if latest is None else ExpectedResponseModel.from_dict(latest.parameters)
