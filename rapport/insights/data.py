"""Tidy DataFrames of one organisation's records, pulled with a few set-based queries.

Every function here reads one organisation only and returns client-level rows: they feed
:mod:`rapport.insights.reports` and never reach a page or a download themselves.

Speed matters (a clinic of 100,000 clients has millions of administrations), so:

* querysets are run through a plain cursor (:func:`frame`): Django's per-row model or
  dict machinery costs more than the database does at these sizes;
* scores come one instrument at a time without the instrument id column, and are
  summarised per episode in pandas (first, last, mean, early mean);
* item answers are extracted from the JSON column by the database (``answers ->> 'id'``
  on PostgreSQL, ``json_extract`` on SQLite, both via Django's ``KT``), and only for one
  administration per client (:func:`first_answers`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, F, QuerySet, Window
from django.db.models.fields.json import KT
from django.db.models.functions import RowNumber

from rapport.clinic.models import (
    Administration,
    AdministrationStatus,
    Client,
    Episode,
    EpisodeStatus,
    Organisation,
    Session,
)

# Sessions whose trust scores make up "early trust" (the mean of sessions 1 to 3).
EARLY_SESSIONS = 3


def frame(queryset: QuerySet, columns: Sequence[str]) -> pd.DataFrame:
    """Run a ``values_list`` queryset through a plain cursor into a DataFrame.

    ``columns`` names the selected values in order. The SQL and its parameters come from
    Django (so values are still bound parameters); only the row conversion is skipped.
    """
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return pd.DataFrame.from_records(rows, columns=list(columns), coerce_float=True)


def _administrations(organisation: Organisation, instrument_id: str) -> QuerySet:
    return Administration.objects.filter(
        session__episode__client__organisation=organisation,
        instrument_id=instrument_id,
        status=AdministrationStatus.COMPLETED,
    )


def episodes(organisation: Organisation) -> pd.DataFrame:
    """One row per episode: ids, status, end reason and the client's coarse demographics.

    Columns: ``episode, client, therapist, status, end_reason, closed, dropout`` (0/1 for
    closed episodes, NaN for active ones), ``race_ethnicity`` (list of codes), ``gender``,
    ``language``, ``age_band`` (codes; "" when not given).
    """
    queryset = Episode.objects.filter(client__organisation=organisation).values_list(
        "id",
        "client_id",
        "therapist_id",
        "status",
        "end_reason",
        "client__demographics__race_ethnicity",
        "client__demographics__gender",
        "client__demographics__preferred_language",
        "client__demographics__age_band",
    )
    columns = ["episode", "client", "therapist", "status", "end_reason"]
    columns += ["race_ethnicity", "gender", "language", "age_band"]
    episodes = frame(queryset, columns)
    # The raw cursor returns the JSON column as text on SQLite (and on PostgreSQL when
    # the driver does not decode jsonb); decode it here, once.
    episodes["race_ethnicity"] = episodes["race_ethnicity"].map(_json_list)
    for column in ("gender", "language", "age_band", "end_reason"):
        episodes[column] = episodes[column].fillna("")
    episodes["closed"] = episodes["status"] == EpisodeStatus.CLOSED
    episodes["dropout"] = np.where(
        episodes["closed"], (episodes["end_reason"] == "dropout").astype(float), np.nan
    )
    return episodes


def _json_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        return []
    return [str(code) for code in value]


def session_scores(organisation: Organisation, instrument_id: str) -> pd.DataFrame:
    """Long scores of one instrument: ``episode, session, score`` (completed, scored)."""
    queryset = (
        _administrations(organisation, instrument_id)
        .filter(total__isnull=False)
        .values_list("session__episode_id", "session__number", "total")
    )
    return frame(queryset, ["episode", "session", "score"])


def episode_summaries(scores: pd.DataFrame) -> pd.DataFrame:
    """Per episode: ``first, last, mean, early`` (mean of sessions 1-3) and ``n`` scores.

    ``first`` and ``last`` are the scores at the lowest and highest session number with
    a score; ``early`` is NaN when none of sessions 1 to 3 has a score.
    """
    if scores.empty:
        return pd.DataFrame(columns=["first", "last", "mean", "early", "n"], dtype=float)
    ordered = scores.sort_values(["episode", "session"], kind="stable")
    grouped = ordered.groupby("episode", sort=True)["score"]
    summary = pd.DataFrame(
        {
            "first": grouped.first(),
            "last": grouped.last(),
            "mean": grouped.mean(),
            "n": grouped.size(),
        }
    )
    early = ordered[ordered["session"] <= EARLY_SESSIONS].groupby("episode")["score"].mean()
    summary["early"] = early.reindex(summary.index)
    return summary


# Memory for the sorts of the two PostgreSQL queries below, for their transaction only:
# the default 4 MB makes PostgreSQL sort millions of rows on disk.
SORT_MEMORY = "256MB"


def _fetch_with_sort_memory(sql: str, params: Sequence[object]) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [SORT_MEMORY])
        cursor.execute(sql, params)
        return cursor.fetchall()


def all_episode_summaries(
    organisation: Organisation, instrument_ids: Sequence[str]
) -> dict[str, pd.DataFrame]:
    """:func:`episode_summaries` of every instrument, keyed by instrument id.

    On PostgreSQL one grouped query summarises all instruments in a single pass over the
    administrations (first and last by ``array_agg ... ORDER BY``), so millions of scores
    never leave the database. Elsewhere (SQLite) the long scores are summarised in pandas,
    one instrument at a time; both give the same frames (tested on both databases).
    """
    if connection.vendor != "postgresql":
        return {i: episode_summaries(session_scores(organisation, i)) for i in instrument_ids}
    sql = f"""
        SELECT s.episode_id, a.instrument_id,
               (array_agg(a.total ORDER BY s.number))[1],
               (array_agg(a.total ORDER BY s.number DESC))[1],
               avg(a.total),
               avg(a.total) FILTER (WHERE s.number <= %s),
               count(*)
        FROM {Administration._meta.db_table} a
        JOIN {Session._meta.db_table} s ON s.id = a.session_id
        JOIN {Episode._meta.db_table} e ON e.id = s.episode_id
        JOIN {Client._meta.db_table} c ON c.id = e.client_id
        WHERE c.organisation_id = %s AND a.status = %s AND a.total IS NOT NULL
              AND a.instrument_id = ANY(%s)
        GROUP BY s.episode_id, a.instrument_id
    """  # noqa: S608 - table names come from the models, values are parameters
    params = [EARLY_SESSIONS, organisation.pk, AdministrationStatus.COMPLETED, list(instrument_ids)]
    rows = _fetch_with_sort_memory(sql, params)
    columns = ["episode", "instrument", "first", "last", "mean", "early", "n"]
    summaries = pd.DataFrame.from_records(rows, columns=columns, coerce_float=True)
    out = {}
    for instrument_id in instrument_ids:
        part = summaries[summaries["instrument"] == instrument_id]
        part = part.set_index("episode").sort_index()[["first", "last", "mean", "n", "early"]]
        out[instrument_id] = part.astype(
            {"first": float, "last": float, "mean": float, "early": float}
        )
    return out


def all_first_answers(
    organisation: Organisation, items_by_instrument: Mapping[str, Sequence[str]]
) -> dict[str, pd.DataFrame]:
    """:func:`first_answers` of every instrument, keyed by instrument id.

    On PostgreSQL one ``DISTINCT ON (client, instrument)`` query returns each client's
    first completed answers of every instrument in one pass; elsewhere one windowed query
    per instrument. Same frames either way.
    """
    if connection.vendor != "postgresql":
        return {
            i: first_answers(organisation, i, items) for i, items in items_by_instrument.items()
        }
    # The sort picks ids only (narrow rows); the answers are joined afterwards, so the
    # sort of millions of rows does not carry the JSON documents.
    sql = f"""
        SELECT first.client_id, a.instrument_id, a.answers
        FROM (
            SELECT DISTINCT ON (e.client_id, a.instrument_id) e.client_id, a.id
            FROM {Administration._meta.db_table} a
            JOIN {Session._meta.db_table} s ON s.id = a.session_id
            JOIN {Episode._meta.db_table} e ON e.id = s.episode_id
            JOIN {Client._meta.db_table} c ON c.id = e.client_id
            WHERE c.organisation_id = %s AND a.status = %s AND a.instrument_id = ANY(%s)
            ORDER BY e.client_id, a.instrument_id, a.completed_at, a.id
        ) first
        JOIN {Administration._meta.db_table} a ON a.id = first.id
    """  # noqa: S608 - table names come from the models, values are parameters
    params = [organisation.pk, AdministrationStatus.COMPLETED, list(items_by_instrument)]
    rows = _fetch_with_sort_memory(sql, params)
    by_instrument: dict[str, list] = {i: [] for i in items_by_instrument}
    for client_id, instrument_id, answers in rows:
        if isinstance(answers, str):
            answers = json.loads(answers)
        by_instrument[instrument_id].append((client_id, answers))
    out = {}
    for instrument_id, items in items_by_instrument.items():
        pairs = by_instrument[instrument_id]
        answers = pd.DataFrame.from_records([a for _, a in pairs], columns=list(items))
        answers = answers.apply(pd.to_numeric, errors="coerce").astype(float)
        answers.insert(0, "client", [c for c, _ in pairs])
        out[instrument_id] = answers
    return out


def first_answers(organisation: Organisation, instrument_id: str, item_ids: Sequence[str]):
    """Item answers of each client's first completed administration of one instrument.

    One administration per client keeps respondents independent, as reliability and DIF
    assume (repeated check-ins of the same client would count one person many times).
    "First" is the earliest ``completed_at`` (ties: the lowest id). Returns
    ``client`` plus one float column per item (NaN for a skipped item).
    """
    first = (
        _administrations(organisation, instrument_id)
        .annotate(
            client_id=F("session__episode__client_id"),
            order=Window(
                RowNumber(),
                partition_by=[F("session__episode__client_id")],
                order_by=[F("completed_at").asc(), F("id").asc()],
            ),
        )
        .filter(order=1)
        .values_list("id", flat=True)
    )
    # Extracted as text and converted here: a JSON null (a skipped item) must become NaN,
    # and a cast in SQL turns it into 0 on some backends.
    extracted = {f"item_{index}": KT(f"answers__{item}") for index, item in enumerate(item_ids)}
    queryset = (
        Administration.objects.filter(pk__in=first)
        .annotate(**extracted)
        .values_list("session__episode__client_id", *extracted)
    )
    answers = frame(queryset, ["client", *item_ids])
    for item in item_ids:
        answers[item] = pd.to_numeric(answers[item], errors="coerce").astype(float)
    return answers


def administration_status_counts(organisation: Organisation) -> pd.DataFrame:
    """Administrations per instrument and status: ``instrument, status, count``."""
    queryset = (
        Administration.objects.filter(session__episode__client__organisation=organisation)
        .values("instrument_id", "status")
        .annotate(count=Count("id"))
        .order_by("instrument_id", "status")
        .values_list("instrument_id", "status", "count")
    )
    return frame(queryset, ["instrument", "status", "count"])
