"""The per-episode summaries, brought up to date by the reader, equal a from-scratch computation.

``EpisodeSummary`` rows are written only by the database: every insert (also COPY),
update, delete and truncate of administrations and every change of a session's number or
episode marks the touched (episode, instrument) pairs (migration 0003), and
:func:`rapport.insights.summaries.refresh_stale`, which the insights reader calls before
it reads, recomputes them (migration 0002's SQL). These tests change the records the ways
the writers do (ORM saves, bulk updates, deletes, raw SQL, moving a session), refresh
through that same function and compare the table with a reference computed here in
Python from the administrations (plain ORM objects and loops, not SQL aggregates); they
also check what a write marks, that a refresh racing an uncommitted write leaves it
marked, and that the reader and the pages are current right after a write. On SQLite,
where both tables stay empty and the insights read the administrations, the same changes
are made and the data layer is compared with the plain per-instrument path, so the tests
run on both engines.
"""

from __future__ import annotations

import datetime
import math
import re
import struct
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.urls import reverse

from rapport.clinic.models import Administration, Client, Episode, Session
from rapport.insights import data
from rapport.insights.models import EpisodeSummary, StaleEpisodeSummary
from rapport.insights.summaries import refresh_stale
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.instruments import load_registry
from rapport.testing import login_verified, run_in_threads, transaction_open_elsewhere

ON_POSTGRESQL = connection.vendor == "postgresql"
REGISTRY = load_registry()
FIELDS = ("count", "n", "first", "last", "mean", "early", "first_time", "first_id")
EXACT = ("organisation_id", "client_id", "packed", "answer_keys", "answer_values")


def _answer_columns(answers: object) -> tuple[list[str] | None, bytes | None]:
    """answer_keys and answer_values as the trigger should store them."""
    if not isinstance(answers, dict) or not answers:
        return None, None
    if any(v is not None and (isinstance(v, bool) or not isinstance(v, int | float))
           for v in answers.values()):  # fmt: skip
        return None, None
    keys = sorted(answers)
    values = [math.nan if answers[k] is None else float(answers[k]) for k in keys]
    return keys, struct.pack(f">{len(values)}d", *values)


def _packed(row: dict) -> bytes:
    def number(value):
        return math.nan if value is None else value

    integers = (row["episode_id"], row["client_id"], row["n"], row["count"], row["first_id"])
    floats = (row["first"], row["last"], row["mean"], row["early"], row["first_time"])
    return struct.pack(">5q5d", *integers, *(number(v) for v in floats))


def _reference() -> dict[tuple[int, str, str], dict]:
    """Summaries computed in Python from every administration in the database."""
    groups: dict[tuple[int, str, str], list[Administration]] = defaultdict(list)
    administrations = Administration.objects.select_related("session__episode__client")
    for administration in administrations:
        key = (administration.session.episode_id, administration.instrument_id)
        groups[(*key, administration.status)].append(administration)
    out = {}
    for key, rows in groups.items():
        client = rows[0].session.episode.client
        row: dict = dict.fromkeys(FIELDS)
        row.update(
            count=len(rows),
            episode_id=key[0],
            client_id=client.id,
            organisation_id=client.organisation_id,
            packed=None,
            answer_keys=None,
            answer_values=None,
        )
        if key[2] == "completed":
            scored = sorted(
                (a for a in rows if a.total is not None), key=lambda a: a.session.number
            )
            early = [a.total for a in scored if a.session.number <= data.EARLY_SESSIONS]
            first = min(rows, key=lambda a: (a.completed_at, a.id))
            row.update(
                n=len(scored),
                first=scored[0].total if scored else None,
                last=scored[-1].total if scored else None,
                mean=sum(a.total for a in scored) / len(scored) if scored else None,
                early=sum(early) / len(early) if early else None,
                first_time=first.completed_at.timestamp(),
                first_id=first.id,
            )
            row["packed"] = _packed(row)
            row["answer_keys"], row["answer_values"] = _answer_columns(first.answers)
        out[key] = row
    return out


def _stored() -> dict[tuple[int, str, str], dict]:
    out = {}
    for s in EpisodeSummary.objects.all():
        row = {field: getattr(s, field) for field in (*FIELDS, *EXACT)}
        for field in ("packed", "answer_values"):
            row[field] = bytes(row[field]) if row[field] is not None else None
        out[(s.episode_id, s.instrument_id, s.status)] = row
    return out


def _stale_pairs() -> set[tuple[int, str]]:
    return set(StaleEpisodeSummary.objects.values_list("episode_id", "instrument_id"))


def _assert_summaries_current() -> None:
    """After a refresh, the summaries equal the reference (PostgreSQL) and nothing is left
    marked; the data layer equals the per-instrument path (both engines)."""
    refresh_stale()
    _assert_reader_current()
    if not ON_POSTGRESQL:
        assert not EpisodeSummary.objects.exists()
        assert not StaleEpisodeSummary.objects.exists()
        return
    assert _stale_pairs() == set()
    _assert_stored_equals_reference()


def _assert_reader_current() -> None:
    """:func:`data.administrations` of every clinic equals the per-instrument path."""
    organisations = {
        e.client.organisation for e in Episode.objects.select_related("client__organisation")
    }
    for organisation in organisations:
        result = data.administrations(organisation)
        for instrument_id, got in result.summaries.items():
            expected = data.episode_summaries(data.session_scores(organisation, instrument_id))
            pd.testing.assert_frame_equal(
                got[expected.columns], expected, check_dtype=False, check_names=False,
                check_index_type=False, rtol=1e-12,
            )  # fmt: skip
        pd.testing.assert_frame_equal(
            result.status_counts.reset_index(drop=True),
            data.administration_status_counts(organisation).astype({"count": int}),
            check_dtype=False,
        )


def _assert_stored_equals_reference() -> None:
    stored, reference = _stored(), _reference()
    assert sorted(stored) == sorted(reference)
    for key, expected in reference.items():
        got = stored[key]
        for field in FIELDS:
            if expected[field] is None:
                assert got[field] is None, (key, field)
            else:
                assert math.isclose(got[field], expected[field], rel_tol=1e-12), (key, field)
        for field in ("organisation_id", "client_id", "answer_keys"):
            assert got[field] == expected[field], (key, field)
        for field in ("packed", "answer_values"):
            assert _same_doubles(got[field], expected[field]), (key, field)


def _same_doubles(got: bytes | None, expected: bytes | None) -> bool:
    """Packed big-endian 8-byte values equal (doubles to 1e-12, NaN equal to NaN)."""
    if got is None or expected is None:
        return got is expected
    if len(got) != len(expected):
        return False
    a = struct.unpack(f">{len(got) // 8}d", got)
    b = struct.unpack(f">{len(expected) // 8}d", expected)
    ints_a = struct.unpack(f">{len(got) // 8}q", got)
    ints_b = struct.unpack(f">{len(expected) // 8}q", expected)
    return all(
        ia == ib or (math.isnan(x) and math.isnan(y)) or math.isclose(x, y, rel_tol=1e-12)
        for x, y, ia, ib in zip(a, b, ints_a, ints_b, strict=True)
    )


@pytest.fixture
def clinic(db):
    return make_synth_clinic(slug="summaries", clients=40, seed=5)


@pytest.mark.django_db
def test_summaries_after_the_synthetic_writer(clinic):
    # The synthetic writer inserts administrations with COPY on PostgreSQL, and
    # refreshes the summaries when it is done.
    assert Administration.objects.exists()
    if ON_POSTGRESQL:
        assert _stale_pairs() == set()
        _assert_stored_equals_reference()
    _assert_summaries_current()


@pytest.mark.django_db
def test_summaries_after_updates_inserts_and_deletes(clinic):
    organisation = clinic.organisation
    completed = Administration.objects.filter(
        session__episode__client__organisation=organisation, status="completed"
    ).order_by("id")
    # One save (as a check-in submission does), a bulk update of scores, a new score.
    first = completed.filter(instrument_id="phq9").first()
    first.total = 27.0
    first.answers = {**first.answers, "phq9_1": 3}
    first.save()
    Administration.objects.filter(pk__in=list(completed.values_list("pk", flat=True)[5:40])).update(
        total=None
    )
    # A completion moved earlier than every other, and a tie at the same microsecond.
    earliest = completed.filter(instrument_id="rapport_trust").last()
    tied_at = earliest.completed_at - datetime.timedelta(days=500)
    same_episode = completed.filter(
        instrument_id="rapport_trust", session__episode=earliest.session.episode
    )
    Administration.objects.filter(pk__in=[a.pk for a in same_episode[:2]]).update(
        completed_at=tied_at
    )
    _assert_summaries_current()
    # Pending becomes completed; completed becomes declined.
    pending = Administration.objects.filter(
        session__episode__client__organisation=organisation, status="pending"
    ).first()
    if pending is not None:
        pending.status = "completed"
        pending.completed_at = pending.created_at
        pending.total = 4.0
        pending.save()
    declined = completed.filter(instrument_id="rapport_alliance").first()
    Administration.objects.filter(pk=declined.pk).update(status="declined", completed_at=None)
    _assert_summaries_current()
    # A new administration in a new session, then deletes (one row, then a whole episode).
    episode = Episode.objects.filter(client__organisation=organisation).first()
    last = episode.sessions.order_by("-number").first()
    session = Session.objects.create(
        episode=episode, number=last.number + 1, scheduled_at=last.scheduled_at
    )
    Administration.objects.create(
        session=session,
        instrument_id="phq9",
        instrument_version="1",
        construct="outcome",
        status="completed",
        completed_at=last.scheduled_at,
        answers={"phq9_1": 1},
        total=1.0,
    )
    _assert_summaries_current()
    # An administration moved to another episode's session: both episodes change.
    moved = completed.filter(instrument_id="gad7").exclude(session__episode=episode).first()
    Administration.objects.filter(pk=moved.pk).update(session=session)
    if ON_POSTGRESQL:
        assert _stale_pairs() == {(moved.session.episode_id, "gad7"), (episode.pk, "gad7")}
    _assert_summaries_current()
    completed.filter(instrument_id="rapport_openness").first().delete()
    Episode.objects.filter(pk=Episode.objects.order_by("-id").first().pk).delete()
    _assert_summaries_current()


@pytest.mark.django_db
def test_summaries_after_sessions_change_number_or_episode(clinic):
    organisation = clinic.organisation
    episodes = list(Episode.objects.filter(client__organisation=organisation).order_by("id")[:2])
    sessions = list(episodes[0].sessions.order_by("number"))
    # Renumber (first and last swap places) and move a session to another episode.
    first, last = sessions[0], sessions[-1]
    top = max(s.number for s in Session.objects.filter(episode__in=episodes)) + 1
    Session.objects.filter(pk=first.pk).update(number=top)
    Session.objects.filter(pk=last.pk).update(number=first.number)
    Session.objects.filter(pk=sessions[1].pk).update(episode=episodes[1], number=top + 1)
    if ON_POSTGRESQL:
        assert {episode for episode, _ in _stale_pairs()} == {e.pk for e in episodes}
    _assert_summaries_current()
    # An update that changes neither number nor episode marks nothing.
    Session.objects.filter(episode=episodes[0]).update(status="attended")
    assert _stale_pairs() == set()
    _assert_summaries_current()


@pytest.mark.django_db
def test_summaries_after_raw_sql_and_truncate(clinic):
    table = Administration._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET total = total + 1 WHERE id % 7 = 0")  # noqa: S608
        cursor.execute(f"DELETE FROM {table} WHERE id % 11 = 0")  # noqa: S608
    _assert_summaries_current()
    if ON_POSTGRESQL:
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET total = total + 1 WHERE id % 5 = 0")  # noqa: S608
            assert _stale_pairs()
            # Django's foreign keys are deferred: check them now so TRUNCATE may run.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {table} CASCADE")
        # Nothing is left to summarise, nor marked.
        assert not EpisodeSummary.objects.exists()
        assert _stale_pairs() == set()
        _assert_summaries_current()


@pytest.mark.django_db
def test_summaries_after_episodes_and_clients_move(clinic):
    other = make_synth_clinic(slug="summaries-other", clients=12, seed=6)
    episodes = list(Episode.objects.filter(client__organisation=clinic.organisation)[:3])
    Episode.objects.filter(pk=episodes[0].pk).update(client=episodes[1].client)
    Client.objects.filter(pk=episodes[2].client_id).update(organisation=other.organisation)
    _assert_summaries_current()


@pytest.mark.django_db
def test_first_answers_with_skipped_items_and_text_answers(clinic):
    """Answers that are not exactly the items as numbers are read as text, as before."""
    organisation = clinic.organisation
    for instrument_id, change in (("phq9", "skip"), ("rapport_trust", "text"), ("gad7", "null")):
        for administration in Administration.objects.filter(
            session__episode__client__organisation=organisation,
            instrument_id=instrument_id,
            status="completed",
        ).order_by("completed_at", "id")[:3]:
            answers = dict(administration.answers)
            key = next(iter(answers))
            if change == "skip":
                answers.pop(key)
            elif change == "text":
                answers[key] = "2"
            else:
                answers[key] = None
            Administration.objects.filter(pk=administration.pk).update(answers=answers)
    _assert_summaries_current()
    items = {i: REGISTRY[i].item_ids for i in ("phq9", "rapport_trust", "gad7", "rapport_alliance")}
    result = data.administrations(organisation, items)
    got = data.all_first_answers(organisation, items, result)
    for instrument_id, item_ids in items.items():
        expected = data.first_answers(organisation, instrument_id, item_ids)
        expected = expected.sort_values("client", ignore_index=True)
        pd.testing.assert_frame_equal(got[instrument_id], expected, check_dtype=False)
    assert got["phq9"].isna().any().any() and got["gad7"].isna().any().any()


def _postgresql_only() -> None:
    if not ON_POSTGRESQL:
        pytest.skip("the summaries and their marks are PostgreSQL only")


def _completed_in(organisation, instrument_id: str):
    return Administration.objects.filter(
        session__episode__client__organisation=organisation,
        instrument_id=instrument_id,
        status="completed",
        total__isnull=False,
    ).order_by("id")


def _completed_mean(pair: tuple[int, str], summaries: dict) -> float:
    return summaries[(*pair, "completed")]["mean"]


@pytest.mark.django_db
def test_a_checkin_update_marks_its_pairs_and_changes_no_summary_until_the_refresh(clinic):
    refresh_stale()
    assert _stale_pairs() == set()
    before = _stored()
    # A submission's single UPDATE of its session's questionnaires.
    session = _completed_in(clinic.organisation, "phq9").last().session
    touched = session.administrations.all()
    assert touched.count() >= 2
    touched.update(total=F("total") + 1)
    pairs = {(session.episode_id, a.instrument_id) for a in touched}
    if ON_POSTGRESQL:
        assert _stale_pairs() == pairs
        assert _stored() == before
        # The same pairs again: still marked once each, still nothing recomputed.
        touched.update(total=F("total") + 1)
        assert _stale_pairs() == pairs
        assert _stored() == before
    _assert_summaries_current()
    if ON_POSTGRESQL:
        scored = {(session.episode_id, a.instrument_id) for a in touched if a.total is not None}
        changed = {key[:2] for key, row in _stored().items() if before.get(key) != row}
        assert changed == scored


@pytest.mark.django_db
def test_refreshing_episodes_by_hand_recomputes_them_at_once(clinic):
    """insights_refresh_episodes (for a fix in psql) takes its pairs from 0003's
    insights_episode_pairs since that migration."""
    _postgresql_only()
    session = _completed_in(clinic.organisation, "phq9").first().session
    session.administrations.update(total=F("total") + 2)
    with connection.cursor() as cursor:
        cursor.execute("SELECT insights_refresh_episodes(%s)", [[session.episode_id]])
    _assert_stored_equals_reference()


@pytest.mark.django_db
def test_the_reader_is_current_right_after_a_write(clinic):
    """Nobody calls the refresh: data.administrations does, before it reads."""
    organisation = clinic.organisation
    phq9 = _completed_in(organisation, "phq9")
    before = data.administrations(organisation)
    Administration.objects.filter(pk__in=list(phq9.values_list("pk", flat=True)[::2])).update(
        total=F("total") + 3
    )
    Administration.objects.filter(pk=phq9.last().pk).update(status="declined")
    if ON_POSTGRESQL:
        assert _stale_pairs()
    _assert_reader_current()
    after = data.administrations(organisation)
    assert not after.summaries["phq9"].equals(before.summaries["phq9"])
    assert not after.status_counts.equals(before.status_counts)


@pytest.mark.django_db
def test_the_insight_pages_are_current_right_after_a_write(client, clinic, settings):
    settings.INSIGHTS_MAX_AGE = datetime.timedelta(0)  # every page view recomputes
    mine = Administration.objects.filter(session__episode__client__organisation=clinic.organisation)

    def completion_reading() -> str:
        completed = mine.filter(status="completed").count()
        offered = mine.filter(status__in=["completed", "expired", "declined"]).count()
        return (
            f"Clients completed {100 * completed / offered:.0f}% of the check-ins they were "
            f"offered (n = {offered:,})."
        )

    login_verified(client, clinic.supervisor)
    page = reverse("insights-outcomes")
    before = completion_reading()
    assert before in client.get(page).text
    trust = _completed_in(clinic.organisation, "rapport_trust")
    declined = list(trust.values_list("pk", flat=True)[: trust.count() // 2])
    Administration.objects.filter(pk__in=declined).update(status="declined", completed_at=None)
    assert completion_reading() != before
    assert completion_reading() in client.get(page).text


@pytest.mark.django_db(transaction=True)
def test_a_refresh_during_an_uncommitted_write_leaves_it_marked():
    _postgresql_only()
    clinic = make_synth_clinic(slug="summaries-race", clients=12, seed=8)
    administration = _completed_in(clinic.organisation, "phq9").first()
    pair = (administration.session.episode_id, "phq9")
    assert _stale_pairs() == set()

    def write():
        Administration.objects.filter(pk=administration.pk).update(total=F("total") + 5)

    with transaction_open_elsewhere(write):
        refresh_stale()
        assert _stale_pairs() == set()  # the open transaction's mark is not visible yet
    assert _stale_pairs() == {pair}
    assert _completed_mean(pair, _stored()) != pytest.approx(_completed_mean(pair, _reference()))
    _assert_summaries_current()


@pytest.mark.django_db(transaction=True)
def test_a_refresh_during_an_uncommitted_write_to_a_marked_pair_leaves_it_marked():
    """The pair is already marked by a committed write when another write to it starts:
    the refresh must include the first and leave the mark the second relies on."""
    _postgresql_only()
    clinic = make_synth_clinic(slug="summaries-race", clients=12, seed=8)
    administration = _completed_in(clinic.organisation, "phq9").first()
    pair = (administration.session.episode_id, "phq9")
    changed = Administration.objects.filter(pk=administration.pk)
    changed.update(total=F("total") + 5)  # committed, marked, not refreshed
    assert _stale_pairs() == {pair}

    with transaction_open_elsewhere(lambda: changed.update(total=F("total") + 7)):
        with connection.cursor() as cursor:
            # Waiting for the open transaction would wait for the end of this block.
            cursor.execute("SET lock_timeout = '5s'")
        refresh_stale()
        # Everything committed is summarised (the reference does not see the open write)
        # and the mark the open write holds is still there.
        _assert_stored_equals_reference()
        assert _stale_pairs() == {pair}
    assert _stale_pairs() == {pair}
    assert _completed_mean(pair, _stored()) != pytest.approx(_completed_mean(pair, _reference()))
    _assert_summaries_current()


@pytest.mark.django_db(transaction=True)
def test_refreshes_at_the_same_time_leave_the_summaries_current():
    _postgresql_only()
    make_synth_clinic(slug="summaries-race", clients=12, seed=8)
    Administration.objects.update(total=F("total") + 1)
    assert len(_stale_pairs()) > 12
    assert run_in_threads(refresh_stale, threads=4) == []
    assert _stale_pairs() == set()
    _assert_stored_equals_reference()


@pytest.mark.django_db(transaction=True)
def test_reversing_the_marks_migration_brings_back_recomputing_on_write():
    _postgresql_only()
    clinic = make_synth_clinic(slug="summaries-migrate", clients=12, seed=9)
    phq9 = _completed_in(clinic.organisation, "phq9")
    phq9.filter(pk=phq9.first().pk).update(total=F("total") + 2)  # marked, not refreshed
    try:
        call_command("migrate", "insights", "0002", verbosity=0)
        assert StaleEpisodeSummary._meta.db_table not in connection.introspection.table_names()
        # The reverse rebuilt the summaries, and writes recompute them again.
        _assert_stored_equals_reference()
        phq9.filter(pk=phq9.last().pk).update(total=F("total") + 2)
        _assert_stored_equals_reference()
    finally:
        call_command("migrate", "insights", verbosity=0)
    phq9.filter(pk=phq9.last().pk).update(total=F("total") + 2)
    assert _stale_pairs()
    _assert_summaries_current()


def test_the_migration_uses_the_same_early_sessions():
    migration = Path(data.__file__).parent / "migrations" / "0002_episodesummary.py"
    early = re.search(r"^EARLY_SESSIONS = (\d+)$", migration.read_text(), re.MULTILINE)
    assert early is not None and int(early.group(1)) == data.EARLY_SESSIONS


@pytest.mark.django_db
def test_one_clinics_refresh_leaves_another_clinics_marks_alone():
    first = make_synth_clinic(slug="first", clients=15, seed=11)
    second = make_synth_clinic(slug="second", clients=15, seed=12)
    for organisation in (first.organisation, second.organisation):
        Administration.objects.filter(
            session__episode__client__organisation=organisation, total__isnull=False
        ).update(total=F("total") + 1)
    if not ON_POSTGRESQL:
        pytest.skip("SQLite keeps no summaries; the reader reads the administrations")

    def marked_episodes_of(organisation) -> set[int]:
        episodes = set(
            Episode.objects.filter(client__organisation=organisation).values_list("id", flat=True)
        )
        return {episode for episode, _ in _stale_pairs()} & episodes

    assert marked_episodes_of(first.organisation) and marked_episodes_of(second.organisation)
    data.administrations(first.organisation)  # the reader refreshes its own clinic
    assert marked_episodes_of(first.organisation) == set()
    assert marked_episodes_of(second.organisation)
    refresh_stale()  # every clinic, as the bulk writers do
    assert _stale_pairs() == set()
    _assert_stored_equals_reference()
