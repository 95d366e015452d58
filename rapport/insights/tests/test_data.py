"""The one-pass data layer gives the same frames as the per-instrument queries and pandas.

On PostgreSQL :func:`data.administrations` summarises every instrument in one grouped
query and finds each client's first administration there; these tests compare it with
the plain per-instrument path (long scores summarised in pandas, a windowed query per
instrument) on a synthetic clinic with the awkward cases planted: tied completion times,
a client with two episodes, a completed administration without a score and a skipped
item. On SQLite both sides take the plain path, so the tests also pin its output.
"""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from rapport.clinic.models import Administration, Episode, Organisation
from rapport.insights import data
from rapport.insights.scope import InsightScope
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.instruments import load_registry

REGISTRY = load_registry()


def _completed(organisation, instrument_id: str):
    return Administration.objects.filter(
        session__episode__client__organisation=organisation,
        instrument_id=instrument_id,
        status="completed",
    ).order_by("completed_at", "id")


@pytest.fixture
def awkward_clinic(db):
    clinic = make_synth_clinic(slug="awkward", clients=60, seed=3)
    organisation = clinic.organisation
    trust = list(_completed(organisation, "rapport_trust")[:2])
    # Two administrations of one client finishing at the same microsecond, before any
    # other: the lower id is the first.
    same_client = [
        a
        for a in _completed(organisation, "rapport_trust")
        if a.session.episode.client_id == trust[0].session.episode.client_id
    ]
    tied_at = same_client[0].completed_at - datetime.timedelta(days=400)
    Administration.objects.filter(pk__in=[a.pk for a in same_client[:2]]).update(
        completed_at=tied_at
    )
    # One client with two episodes (the second episode taken from another client).
    episodes = list(Episode.objects.filter(client__organisation=organisation).order_by("id"))
    Episode.objects.filter(pk=episodes[1].pk).update(client_id=episodes[0].client_id)
    # A completed administration without a score, and a skipped item.
    phq9 = _completed(organisation, "phq9").first()
    Administration.objects.filter(pk=phq9.pk).update(total=None)
    skipped = _completed(organisation, "rapport_trust").last()
    answers = dict(skipped.answers)
    answers.pop(next(iter(answers)))
    Administration.objects.filter(pk=skipped.pk).update(answers=answers)
    return clinic


@pytest.mark.django_db
def test_summaries_and_status_counts_equal_the_per_instrument_path(awkward_clinic):
    organisation = awkward_clinic.organisation
    result = data.administrations(organisation)
    expected_counts = data.administration_status_counts(organisation)
    pd.testing.assert_frame_equal(
        result.status_counts.reset_index(drop=True),
        expected_counts.astype({"count": int}),
        check_dtype=False,
    )
    instruments = sorted(
        set(expected_counts.loc[expected_counts["status"] == "completed", "instrument"])
    )
    assert sorted(result.summaries) == instruments
    for instrument_id in instruments:
        expected = data.episode_summaries(data.session_scores(organisation, instrument_id))
        got = result.summaries[instrument_id]
        assert not got.empty
        pd.testing.assert_frame_equal(
            got[expected.columns],
            expected,
            check_dtype=False,
            check_names=False,
            check_index_type=False,
            rtol=1e-12,
        )


@pytest.mark.django_db
def test_first_answers_equal_the_windowed_query(awkward_clinic):
    organisation = awkward_clinic.organisation
    result = data.administrations(organisation, {i: REGISTRY[i].item_ids for i in REGISTRY})
    items = {i: REGISTRY[i].item_ids for i in result.summaries}
    got = data.all_first_answers(organisation, items, result)
    for instrument_id, item_ids in items.items():
        expected = data.first_answers(organisation, instrument_id, item_ids)
        expected = expected.sort_values("client", ignore_index=True)
        pd.testing.assert_frame_equal(got[instrument_id], expected, check_dtype=False)
    trust = got["rapport_trust"]
    assert trust[list(REGISTRY["rapport_trust"].item_ids)].isna().any().any()


@pytest.mark.django_db
def test_ties_in_completion_time_fall_to_the_lower_id(awkward_clinic):
    organisation = awkward_clinic.organisation
    result = data.administrations(organisation)
    if result.first_ids is None:
        pytest.skip("the windowed query (SQLite) is the reference itself")
    tied = list(_completed(organisation, "rapport_trust")[:2])
    assert tied[0].completed_at == tied[1].completed_at
    client = tied[0].session.episode.client_id
    first = result.first_ids[
        (result.first_ids["client"] == client) & (result.first_ids["instrument"] == "rapport_trust")
    ]
    assert first["administration"].tolist() == [min(tied[0].pk, tied[1].pk)]


@pytest.mark.django_db
def test_an_organisation_without_administrations_gives_empty_frames(awkward_clinic):
    other = Organisation.objects.create(name="Empty", slug="empty")
    phq9 = {"phq9": REGISTRY["phq9"].item_ids}
    result = data.administrations(other, phq9)
    assert result.status_counts.empty
    assert result.summaries == {}
    answers = data.all_first_answers(other, phq9, result)
    assert answers["phq9"].empty


@pytest.mark.django_db
def test_a_scope_reads_exactly_its_episodes_administrations(awkward_clinic):
    """Narrowed to two therapists and a period, the frames are the whole clinic's restricted
    to those episodes (counted here one administration at a time), on both read paths."""
    organisation = awkward_clinic.organisation
    episodes = list(Episode.objects.filter(client__organisation=organisation))
    therapists = sorted({e.therapist_id for e in episodes})[:2]
    first, last = datetime.date(2025, 4, 1), datetime.date(2025, 9, 1)
    scope = InsightScope(first, last, therapist_ids=frozenset(therapists))
    kept = {
        e.pk
        for e in episodes
        if e.therapist_id in therapists
        and e.started_on <= datetime.date(2025, 9, 30)
        and (e.ended_on is None or e.ended_on >= first)
    }
    assert 0 < len(kept) < len(episodes)

    whole = data.administrations(organisation)
    scoped = data.administrations(organisation, scope=scope)

    assert set(data.episodes(organisation, scope)["episode"]) == kept
    for instrument_id, summary in whole.summaries.items():
        expected = summary[summary.index.isin(kept)]
        got = scoped.summaries.get(instrument_id, expected.iloc[:0])
        pd.testing.assert_frame_equal(got, expected, check_dtype=False, check_index_type=False)
    counted: dict[tuple[str, str], int] = {}
    for administration in Administration.objects.filter(session__episode_id__in=kept):
        key = (administration.instrument_id, administration.status)
        counted[key] = counted.get(key, 0) + 1
    got_counts = {
        (row.instrument, row.status): row.count for row in scoped.status_counts.itertuples()
    }
    assert got_counts == counted
