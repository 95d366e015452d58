"""The pages' numbers equal the psychometrics functions on independently built DataFrames.

Each test queries the raw records its own way (plain ORM objects, Python loops) rather
than through rapport.insights.data, then applies rapport.psychometrics directly.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest

from rapport.clinic.models import Administration, Episode
from rapport.insights import reports
from rapport.insights.disclosure import protected
from rapport.instruments import load_registry
from rapport.psychometrics import classify_change, correlate, equity, reliability

REGISTRY = load_registry()


def _completed(organisation, instrument_id):
    return (
        Administration.objects.filter(
            session__episode__client__organisation=organisation,
            instrument_id=instrument_id,
            status="completed",
        )
        .select_related("session__episode")
        .order_by("id")
    )


def _page_table(computed, page, name):
    return next(t for t in computed["pages"][page]["tables"] if t["name"] == name)


@pytest.fixture
def computed(synth_clinic):
    """The figures as researchers and downloads get them (small-cell protected)."""
    return protected(reports.compute(synth_clinic.organisation))


@pytest.mark.django_db
def test_alpha_equals_reliability_on_each_clients_first_answers(synth_clinic, computed):
    trust = REGISTRY["rapport_trust"]
    first: dict[int, Administration] = {}
    for administration in _completed(synth_clinic.organisation, trust.id):
        client = administration.session.episode.client_id
        key = (administration.completed_at, administration.id)
        if client not in first or key < (first[client].completed_at, first[client].id):
            first[client] = administration
    answers = pd.DataFrame(
        [[a.answers.get(item) for item in trust.item_ids] for a in first.values()],
        columns=list(trust.item_ids),
        dtype=float,
    )
    expected = reliability(
        answers, list(trust.item_ids), reverse=[i.id for i in trust.items if i.reverse]
    )
    row = next(
        r
        for r in _page_table(computed, "instruments", "reliability")["rows"]
        if r["instrument"] == trust.title["en"]
    )
    assert row["n"] == len(answers) == expected.n
    assert row["alpha"] == pytest.approx(expected.alpha, abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(expected.feldt_ci, abs=1e-12)


@pytest.mark.django_db
def test_reliability_leaves_out_the_unscored_functioning_question(synth_clinic, computed):
    phq9 = REGISTRY["phq9"]
    row = next(
        r
        for r in _page_table(computed, "instruments", "reliability")["rows"]
        if r["instrument"] == phq9.title["en"]
    )
    assert row["k"] == len(phq9.scored_item_ids) == 9
    assert "phq9_difficulty" in phq9.item_ids


def _episode_scores(organisation, instrument_id):
    scores: dict[int, dict[int, float]] = defaultdict(dict)
    for administration in _completed(organisation, instrument_id):
        if administration.total is not None:
            session = administration.session
            scores[session.episode_id][session.number] = administration.total
    return scores


@pytest.mark.django_db
def test_trust_alliance_correlation_equals_correlate(synth_clinic, computed):
    trust = _episode_scores(synth_clinic.organisation, "rapport_trust")
    alliance = _episode_scores(synth_clinic.organisation, "rapport_alliance")
    frame = pd.DataFrame(
        {
            "trust": {e: s[min(s)] for e, s in trust.items()},
            "alliance": {e: s[min(s)] for e, s in alliance.items()},
        }
    )
    expected = correlate(frame, "trust", "alliance", r0=0.53)
    row = _page_table(computed, "instruments", "published_comparison")["rows"][0]
    assert row["n"] == expected.n
    assert row["r"] == pytest.approx(expected.r, abs=1e-12)
    assert row["p_compare"] == pytest.approx(expected.compare.p, abs=1e-12)


@pytest.mark.django_db
def test_reliable_change_counts_equal_classify_change(synth_clinic, computed):
    phq9 = REGISTRY["phq9"]
    closed = set(
        Episode.objects.filter(
            client__organisation=synth_clinic.organisation, status="closed"
        ).values_list("id", flat=True)
    )
    scores = _episode_scores(synth_clinic.organisation, "phq9")
    frame = pd.DataFrame(
        [
            {"intake": s[min(s)], "final": s[max(s)]}
            for episode, s in scores.items()
            if episode in closed and len(s) >= 2
        ]
    )
    categories = classify_change(
        frame,
        "intake",
        "final",
        higher_is_better=False,
        rci_points=phq9.reliable_change,
        cutoff=phq9.clinical_cutoff,
    )["category"].value_counts()
    rows = [
        r
        for r in _page_table(computed, "outcomes", "reliable_change")["rows"]
        if r["group"] == phq9.title["en"]
    ]
    assert rows
    for row in rows:
        code = next(k for k, v in reports.CHANGE_LABELS.items() if v == row["category"])
        assert row["n"] in (None, len(frame))
        if row["count"] is not None:
            assert row["count"] == categories.get(code, 0)
    assert any(row["count"] is not None for row in rows)


@pytest.mark.django_db
def test_equity_trust_means_equal_equity_on_an_independent_frame(synth_clinic, computed):
    trust = _episode_scores(synth_clinic.organisation, "rapport_trust")
    rows = []
    for episode in Episode.objects.filter(
        client__organisation=synth_clinic.organisation
    ).select_related("client__demographics"):
        demographics = episode.client.demographics
        scores = trust.get(episode.id, {})
        rows.append(
            {
                "language": {"en": "English", "es": "Spanish", "other": "Another language"}[
                    demographics.preferred_language
                ],
                "trust": sum(scores.values()) / len(scores) if scores else float("nan"),
            }
        )
    expected = equity(pd.DataFrame(rows), "trust", "language", kind="mean")
    page_rows = [
        r
        for r in _page_table(computed, "equity", "equity_0")["rows"]
        if r["characteristic"] == "Preferred language"
    ]
    assert page_rows
    for row in page_rows:
        match = expected[expected["group"] == row["group"]].iloc[0]
        if row["suppressed"]:
            assert bool(match["suppressed"])
            continue
        assert row["n"] == match["n"]
        assert row["mean"] == pytest.approx(match["estimate"], abs=1e-12)
        assert row["ci_low"] == pytest.approx(match["ci_low"], abs=1e-12)
