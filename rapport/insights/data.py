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
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Administrations:
    """An organisation's administrations, summarised.

    ``status_counts``: administrations per instrument and status (``instrument, status,
    count``). ``summaries``: :func:`episode_summaries` of every instrument with a
    completed administration, keyed by instrument id. ``first_ids``: each client's first
    completed administration of each instrument (``client, instrument, administration``)
    when the pass found them (PostgreSQL), else ``None`` (:func:`all_first_answers` then
    finds them itself).
    """

    status_counts: pd.DataFrame
    summaries: dict[str, pd.DataFrame]
    first_ids: pd.DataFrame | None


def administrations(organisation: Organisation) -> Administrations:
    """Status counts, per-episode score summaries and first administrations of one clinic.

    On PostgreSQL one grouped pass over the completed administrations gives all of them
    (plus a small pass over the few others for their status counts), so millions of rows
    never leave the database. Elsewhere (SQLite) the status counts are one query and the
    scores are summarised in pandas, one instrument at a time. Both give the same frames
    (tested on both databases).
    """
    if connection.vendor == "postgresql":
        return _administrations_postgresql(organisation)
    status_counts = administration_status_counts(organisation)
    completed = status_counts["status"] == AdministrationStatus.COMPLETED
    summaries = {
        instrument_id: episode_summaries(session_scores(organisation, instrument_id))
        for instrument_id in sorted(set(status_counts.loc[completed, "instrument"]))
    }
    return Administrations(status_counts, summaries, first_ids=None)


# Memory for the hash tables of the grouped PostgreSQL queries, for their transaction
# only: with the default 4 MB the half million groups spill to disk.
WORK_MEMORY = "512MB"


def _fetch_with_work_memory(sql: str, params: Sequence[object]) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEMORY])
        cursor.execute(sql, params)
        return cursor.fetchall()


def _organisation_administrations_sql() -> str:
    return f"""
        FROM {Administration._meta.db_table} a
        JOIN {Session._meta.db_table} s ON s.id = a.session_id
        JOIN {Episode._meta.db_table} e ON e.id = s.episode_id
        JOIN {Client._meta.db_table} c ON c.id = e.client_id
        WHERE c.organisation_id = %s
    """  # table names come from the models


# Columns of the grouped pass in _administrations_postgresql, as they are packed.
_INTEGER_COLUMNS = ("episode", "client", "n", "completed", "first_id")
_FLOAT_COLUMNS = ("first", "last", "mean", "early", "first_time")


def _unpacked(instrument_id: str, packed: Sequence[bytes]) -> pd.DataFrame:
    """One instrument's rows of the grouped pass from its packed columns."""
    columns: dict[str, object] = {"instrument": instrument_id}
    for name, values in zip(_INTEGER_COLUMNS, packed[: len(_INTEGER_COLUMNS)], strict=True):
        columns[name] = np.frombuffer(values, dtype=">i8").astype(np.int64)
    for name, values in zip(_FLOAT_COLUMNS, packed[len(_INTEGER_COLUMNS) :], strict=True):
        columns[name] = np.frombuffer(values, dtype=">f8").astype(np.float64)
    return pd.DataFrame(columns)


def _administrations_postgresql(organisation: Organisation) -> Administrations:
    # Per episode and instrument, in one pass without sorting:
    # * first and last score: the score at the lowest and highest session number, as the
    #   minimum and maximum of [number, total] arrays (arrays compare element by element
    #   and a session has at most one administration of an instrument, so numbers never
    #   tie); ordered aggregates (array_agg ... ORDER BY) would sort every group;
    # * the first completed administration: the minimum of [completed_at in epoch
    #   seconds, id]. Epoch seconds as a double keep the order of distinct microsecond
    #   timestamps exactly (their spacing, 2^-20 s or less until 2106, is finer than a
    #   microsecond), and ties fall to the lower id, as in first_answers().
    grouped = f"""
        SELECT e.id AS episode, e.client_id AS client, a.instrument_id AS instrument,
               (min(ARRAY[s.number, a.total]) FILTER (WHERE a.total IS NOT NULL))[2] AS first,
               (max(ARRAY[s.number, a.total]) FILTER (WHERE a.total IS NOT NULL))[2] AS last,
               avg(a.total) AS mean,
               avg(a.total) FILTER (WHERE s.number <= %s) AS early,
               count(a.total) AS n,
               count(*) AS completed,
               (min(ARRAY[date_part('epoch', a.completed_at), a.id]))[1] AS first_time,
               (min(ARRAY[date_part('epoch', a.completed_at), a.id]))[2]::bigint AS first_id
        {_organisation_administrations_sql()} AND a.status = %s
        GROUP BY e.id, a.instrument_id
    """  # table names come from the models, values are parameters
    # Half a million rows of eleven values would cost more as Python objects than the
    # query itself; instead each column comes packed, one row per instrument, as a
    # big-endian binary array that numpy reads in place. NULL (no early score) is packed
    # as NaN; a first or last score is NULL only when n = 0, and those rows are dropped.
    packed = [f"string_agg(int8send(g.{column}), '')" for column in _INTEGER_COLUMNS]
    packed += [
        f"string_agg(float8send(coalesce(g.{column}, 'NaN')), '')" for column in _FLOAT_COLUMNS
    ]
    columns = ", ".join(packed)
    sql = f"SELECT g.instrument, {columns} FROM ({grouped}) g GROUP BY g.instrument"  # noqa: S608
    completed = AdministrationStatus.COMPLETED
    rows = _fetch_with_work_memory(sql, [EARLY_SESSIONS, organisation.pk, completed])
    parts = [_unpacked(instrument_id, packed_columns) for instrument_id, *packed_columns in rows]
    no_rows = [b""] * (len(_INTEGER_COLUMNS) + len(_FLOAT_COLUMNS))
    groups = pd.concat(parts, ignore_index=True) if parts else _unpacked("", no_rows)

    other_sql = f"""
        SELECT a.instrument_id, a.status, count(*)
        {_organisation_administrations_sql()} AND a.status <> %s
        GROUP BY a.instrument_id, a.status
    """  # table names come from the models, values are parameters
    others = pd.DataFrame.from_records(
        _fetch_with_work_memory(other_sql, [organisation.pk, completed]),
        columns=["instrument", "status", "count"],
    )
    completed_counts = groups.groupby("instrument", as_index=False)["completed"].sum()
    completed_counts = completed_counts.rename(columns={"completed": "count"}).assign(
        status=completed.value
    )
    status_counts = pd.concat([completed_counts, others], ignore_index=True)
    status_counts = status_counts[["instrument", "status", "count"]].astype({"count": int})
    status_counts = status_counts.sort_values(["instrument", "status"], ignore_index=True)

    summaries = {}
    for instrument_id, part in groups.groupby("instrument", sort=True):
        scored = part[part["n"] > 0].set_index("episode").sort_index()
        summary = scored[["first", "last", "mean", "n", "early"]]
        summaries[str(instrument_id)] = summary.astype(
            {"first": float, "last": float, "mean": float, "n": int, "early": float}
        )

    first = groups.sort_values(["client", "instrument", "first_time", "first_id"])
    first = first.drop_duplicates(["client", "instrument"])
    first_ids = first[["client", "instrument", "first_id"]].rename(
        columns={"first_id": "administration"}
    )
    return Administrations(status_counts, summaries, first_ids.reset_index(drop=True))


def all_first_answers(
    organisation: Organisation,
    items_by_instrument: Mapping[str, Sequence[str]],
    first_ids: pd.DataFrame | None = None,
) -> dict[str, pd.DataFrame]:
    """:func:`first_answers` of every instrument, keyed by instrument id, rows by client.

    With ``first_ids`` (from :func:`administrations`) the answers are read by primary key,
    only the items' values extracted from the JSON by the database; without, each
    instrument's first administrations are found by :func:`first_answers`. Same frames.
    """
    out = {}
    for instrument_id, items in items_by_instrument.items():
        if first_ids is None:
            answers = first_answers(organisation, instrument_id, items)
        else:
            ids = first_ids.loc[first_ids["instrument"] == instrument_id]
            answers = _answers_by_id(ids.set_index("administration")["client"], items)
        out[instrument_id] = answers.sort_values("client", ignore_index=True)
    return out


def _answers_by_id(clients: pd.Series, item_ids: Sequence[str]) -> pd.DataFrame:
    """``client`` and the item answers of the administrations in ``clients``' index."""
    extracted = ", ".join(["a.answers ->> %s"] * len(item_ids))
    sql = f"""
        SELECT a.id, {extracted}
        FROM {Administration._meta.db_table} a
        WHERE a.id = ANY(%s::bigint[])
    """  # noqa: S608 - the table name comes from the model, values are parameters
    # The ids travel as one array literal: psycopg adapts a list element by element,
    # which for 100,000 ids costs more than the query.
    ids = "{" + ",".join(map(str, clients.index.tolist())) + "}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*item_ids, ids])
        rows = cursor.fetchall()
    answers = pd.DataFrame.from_records(rows, columns=["administration", *item_ids])
    answers.insert(0, "client", clients.reindex(answers["administration"]).to_numpy())
    return _numeric_answers(answers.drop(columns="administration"), item_ids)


def _numeric_answers(answers: pd.DataFrame, item_ids: Sequence[str]) -> pd.DataFrame:
    # Extracted as text and converted here: a JSON null (a skipped item) must become NaN,
    # and a cast in SQL turns it into 0 on some backends.
    for item in item_ids:
        answers[item] = pd.to_numeric(answers[item], errors="coerce").astype(float)
    return answers


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
    extracted = {f"item_{index}": KT(f"answers__{item}") for index, item in enumerate(item_ids)}
    queryset = (
        Administration.objects.filter(pk__in=first)
        .annotate(**extracted)
        .values_list("session__episode__client_id", *extracted)
    )
    return _numeric_answers(frame(queryset, ["client", *item_ids]), item_ids)


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
