"""The per-episode summaries kept by PostgreSQL triggers equal a from-scratch computation.

``EpisodeSummary`` rows are written only by the database (migration 0002): every insert
(also COPY), update, delete and truncate of administrations and every change of a
session's number or episode recomputes the touched episodes. These tests change the
records the ways the writers do (ORM saves, bulk updates, deletes, raw SQL, moving a
session) and compare the table with a reference computed here in Python from the
administrations (plain ORM objects and loops, not SQL aggregates). On SQLite, where the
table stays empty and the insights read the administrations, the same changes are made
and the data layer is compared with the plain per-instrument path, so the tests run on
both engines.
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
from django.db import connection

from rapport.clinic.models import Administration, Client, Episode, Session
from rapport.insights import data
from rapport.insights.models import EpisodeSummary
from rapport.insights.tests.conftest import make_synth_clinic
from rapport.instruments import load_registry

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


def _assert_summaries_current() -> None:
    """The trigger-kept table equals the reference (PostgreSQL); the data layer equals
    the per-instrument path (both engines)."""
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
    if not ON_POSTGRESQL:
        assert not EpisodeSummary.objects.exists()
        return
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
    # The synthetic writer inserts administrations with COPY on PostgreSQL.
    assert Administration.objects.exists()
    if ON_POSTGRESQL:
        assert EpisodeSummary.objects.filter(status="completed").exists()
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
    # An update that changes neither number nor episode leaves the summaries as they are.
    Session.objects.filter(episode=episodes[0]).update(status="attended")
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
            # Django's foreign keys are deferred: check them now so TRUNCATE may run.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"TRUNCATE {table} CASCADE")
        assert not EpisodeSummary.objects.exists()
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


def test_the_migration_uses_the_same_early_sessions():
    migration = Path(data.__file__).parent / "migrations" / "0002_episodesummary.py"
    early = re.search(r"^EARLY_SESSIONS = (\d+)$", migration.read_text(), re.MULTILINE)
    assert early is not None and int(early.group(1)) == data.EARLY_SESSIONS
