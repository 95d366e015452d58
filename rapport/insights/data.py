"""Tidy DataFrames of one organisation's records, pulled with a few set-based queries.

Every function here reads one organisation only (optionally narrowed to a
:class:`~rapport.insights.scope.InsightScope`: its episodes and their administrations)
and returns client-level rows: they feed :mod:`rapport.insights.reports` and never reach
a page or a download themselves.

Speed matters (a clinic of 100,000 clients has millions of administrations), so:

* querysets are run through a plain cursor (:func:`frame`): Django's per-row model or
  dict machinery costs more than the database does at these sizes;
* on PostgreSQL the administrations are summarised per episode
  (:class:`rapport.insights.models.EpisodeSummary`): writes mark the pairs they touch and
  :func:`administrations` brings the marked summaries up to date
  (:func:`rapport.insights.summaries.refresh_stale`), then reads them, with each
  episode's first answers, in one pass of packed columns;
* elsewhere (SQLite) scores come one instrument at a time without the instrument id
  column and are summarised per episode in pandas (first, last, mean, early mean), and
  item answers are extracted from the JSON column by the database (``json_extract`` via
  Django's ``KT``) for one administration per client (:func:`first_answers`).
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
    EpisodeStatus,
    Organisation,
)
from rapport.insights.models import EpisodeSummary
from rapport.insights.scope import WHOLE_CLINIC, InsightScope
from rapport.insights.summaries import refresh_stale

# Sessions whose trust scores make up "early trust" (the mean of the scores up to session
# 3: sessions 2 and 3 under plans that start relationship questionnaires at session 2,
# as Instrument.first_session requires; older data may have session 1 too).
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


def _in_scope(organisation: Organisation, scope: InsightScope) -> QuerySet:
    """Every administration of the organisation's episodes in ``scope``."""
    return Administration.objects.filter(
        scope.condition("session__episode__"), session__episode__client__organisation=organisation
    )


def _administrations(
    organisation: Organisation, instrument_id: str, scope: InsightScope = WHOLE_CLINIC
) -> QuerySet:
    return _in_scope(organisation, scope).filter(
        instrument_id=instrument_id, status=AdministrationStatus.COMPLETED
    )


def episodes(organisation: Organisation, scope: InsightScope = WHOLE_CLINIC) -> pd.DataFrame:
    """One row per episode: ids, status, end reason and the client's coarse demographics.

    Columns: ``episode, client, therapist, status, end_reason, closed, dropout`` (0/1 for
    closed episodes, NaN for active ones), ``race_ethnicity`` (list of codes), ``gender``,
    ``language``, ``age_band`` (codes; "" when not given), ``ended_month`` (``YYYY-MM``
    of the end date; "" while open).
    """
    queryset = scope.episodes(organisation).values_list(
        "id",
        "client_id",
        "therapist_id",
        "status",
        "end_reason",
        "client__demographics__race_ethnicity",
        "client__demographics__gender",
        "client__demographics__preferred_language",
        "client__demographics__age_band",
        "ended_on",
    )
    columns = ["episode", "client", "therapist", "status", "end_reason"]
    columns += ["race_ethnicity", "gender", "language", "age_band", "ended_on"]
    episodes = frame(queryset, columns)
    # The raw cursor returns the JSON column as text on SQLite (and on PostgreSQL when
    # the driver does not decode jsonb); decode it here, once per distinct value.
    # (A clinic has a few dozen distinct answers, not 100,000 of them.)
    decoded: dict[str, list[str]] = {}

    def decode(value: object) -> list[str]:
        if not isinstance(value, str):
            return _json_list(value)
        if value not in decoded:
            decoded[value] = _json_list(value)
        return decoded[value]

    episodes["race_ethnicity"] = episodes["race_ethnicity"].map(decode)
    for column in ("gender", "language", "age_band", "end_reason"):
        episodes[column] = episodes[column].fillna("")
    # A date on PostgreSQL, ISO text on SQLite: the month is its first seven characters.
    episodes["ended_month"] = _per_distinct(episodes.pop("ended_on"), _month)
    episodes["closed"] = episodes["status"] == EpisodeStatus.CLOSED
    episodes["dropout"] = np.where(
        episodes["closed"], (episodes["end_reason"] == "dropout").astype(float), np.nan
    )
    return episodes


def _month(value: object) -> str:
    return "" if value is None or pd.isna(value) else str(value)[:7]


def _per_distinct(column: pd.Series, convert) -> pd.Series:
    """``column.map(convert)``, calling ``convert`` once per distinct value."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    converted = np.array([convert(value) for value in uniques] or [""], dtype=object)
    return pd.Series(converted[codes], index=column.index, dtype=object)


def _json_list(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, list):
        return []
    return [str(code) for code in value]


def session_scores(
    organisation: Organisation, instrument_id: str, scope: InsightScope = WHOLE_CLINIC
) -> pd.DataFrame:
    """Long scores of one instrument: ``episode, session, score`` (completed, scored)."""
    queryset = (
        _administrations(organisation, instrument_id, scope)
        .filter(total__isnull=False)
        .values_list("session__episode_id", "session__number", "total")
    )
    return frame(queryset, ["episode", "session", "score"])


def episode_summaries(scores: pd.DataFrame) -> pd.DataFrame:
    """Per episode: ``first, last, mean, early`` (mean up to session 3) and ``n`` scores.

    ``first`` and ``last`` are the scores at the lowest and highest session number with
    a score; ``early`` is NaN when no session up to 3 has a score.
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
    when the pass found them (PostgreSQL), else ``None``. ``first_answers``: the item
    answers of those administrations (``client`` plus one float column per item) of the
    instruments asked for, when the pass read them (PostgreSQL), else ``None``
    (:func:`all_first_answers` then finds them itself).
    """

    status_counts: pd.DataFrame
    summaries: dict[str, pd.DataFrame]
    first_ids: pd.DataFrame | None
    first_answers: dict[str, pd.DataFrame] | None = None


def administrations(
    organisation: Organisation,
    items_by_instrument: Mapping[str, Sequence[str]] | None = None,
    scope: InsightScope = WHOLE_CLINIC,
) -> Administrations:
    """Status counts, per-episode score summaries and first administrations of one clinic.

    On PostgreSQL the per-episode summaries whose records changed are recomputed first
    (:func:`rapport.insights.summaries.refresh_stale`, so every change committed before
    the call is included); then one pass over the summaries
    (:class:`rapport.insights.models.EpisodeSummary`) gives all of them, and the first
    answers of the instruments in ``items_by_instrument`` (item ids by instrument id),
    so millions of administrations are never read. Elsewhere (SQLite) the status
    counts are one query and the scores are summarised in pandas, one instrument at a
    time. Both give the same frames (tested on both databases).
    """
    if connection.vendor == "postgresql":
        return _administrations_postgresql(organisation, items_by_instrument or {}, scope)
    status_counts = administration_status_counts(organisation, scope)
    completed = status_counts["status"] == AdministrationStatus.COMPLETED
    summaries = {
        instrument_id: episode_summaries(session_scores(organisation, instrument_id, scope))
        for instrument_id in sorted(set(status_counts.loc[completed, "instrument"]))
    }
    return Administrations(status_counts, summaries, first_ids=None)


# Memory for the hash tables of the grouped PostgreSQL queries, for their transaction
# only: with the default 4 MB larger sorts and hashes spill to disk.
WORK_MEMORY = "512MB"


def _fetch_with_work_memory(sql: str, params: Sequence[object]) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('work_mem', %s, true)", [WORK_MEMORY])
        cursor.execute(sql, params)
        return cursor.fetchall()


# EpisodeSummary.packed, as the database packs it (see migrations/0002).
_PACKED = np.dtype(
    [(name, ">i8") for name in ("episode", "client", "n", "completed", "first_id")]
    + [(name, ">f8") for name in ("first", "last", "mean", "early", "first_time")]
)


def _from_packed(instrument_id: str, packed: bytes | None) -> pd.DataFrame:
    """One instrument's completed summaries from their packed rows."""
    rows = np.frombuffer(packed or b"", dtype=_PACKED)
    columns: dict[str, object] = {"instrument": instrument_id}
    for name in _PACKED.names:
        native = np.int64 if _PACKED[name].kind == "i" else np.float64
        columns[name] = rows[name].astype(native)
    return pd.DataFrame(columns)


def _administrations_postgresql(
    organisation: Organisation,
    items_by_instrument: Mapping[str, Sequence[str]],
    scope: InsightScope,
) -> Administrations:
    # The per-episode summaries (EpisodeSummary) are computed by the database
    # (rapport/insights/migrations/0002; writes mark the pairs they touch, 0003, and the
    # refresh below recomputes those), with the aggregates this function computed over
    # the administrations until then: first and last score at the lowest and highest
    # session number, mean, early mean, number of scores and of
    # completed administrations, and the first completed administration (the minimum of
    # [completed_at in epoch seconds, id]: doubles keep distinct microsecond timestamps
    # apart until 2106, ties fall to the lower id, as in first_answers()) with its
    # answers. The database also packs each row's figures as big-endian binary, so here
    # one pass concatenates them per instrument and status and numpy reads them in
    # place: half a million rows never become Python objects, nor does PostgreSQL
    # convert twenty values a row.
    #
    # Answers come packed in the byte order of their keys; a row whose keys are exactly
    # the instrument's items (sorted the same way) is taken as packed, any other (a
    # skipped item, an answer that is not a number) is read as text by id below.
    refresh_stale(organisation.pk)
    completed = AdministrationStatus.COMPLETED
    instruments = sorted(items_by_instrument)
    cases = " ".join(["WHEN %s THEN %s::jsonb"] * len(instruments))
    expected = f"(CASE g.instrument_id {cases} END)" if instruments else "NULL::jsonb"
    case_params: list[object] = []
    for instrument_id in instruments:
        case_params += [instrument_id, json.dumps(sorted(items_by_instrument[instrument_id]))]
    as_packed = f"g.status = %s AND g.answer_keys = {expected}"
    in_scope, scope_params = "", []
    if not scope.is_whole_clinic:
        episodes_sql, episodes_params = (
            scope.episodes(organisation).values("id").query.sql_with_params()
        )
        in_scope, scope_params = f"AND g.episode_id IN ({episodes_sql})", list(episodes_params)
    sql = f"""
        SELECT g.instrument_id, g.status, sum(g.count),
               string_agg(g.packed, '') FILTER (WHERE g.status = %s),
               string_agg(g.answer_values, '') FILTER (WHERE {as_packed}),
               string_agg(int8send(g.first_id), '') FILTER (WHERE {as_packed})
        FROM {EpisodeSummary._meta.db_table} g
        WHERE g.organisation_id = %s {in_scope}
        GROUP BY g.instrument_id, g.status
    """  # noqa: S608 - table names come from the models, values are parameters
    params = [completed, completed, *case_params, completed, *case_params, organisation.pk]
    params += scope_params
    rows = _fetch_with_work_memory(sql, params)
    parts, counts, packed_answers = [], [], {}
    for instrument_id, status, count, packed, answer_values, answer_ids in rows:
        counts.append((instrument_id, status, int(count)))
        if status == completed:
            parts.append(_from_packed(instrument_id, packed))
            packed_answers[instrument_id] = (answer_values, answer_ids)
    groups = pd.concat(parts, ignore_index=True) if parts else _from_packed("", None)
    status_counts = pd.DataFrame.from_records(counts, columns=["instrument", "status", "count"])
    status_counts = status_counts.astype({"count": int})
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
    answers = {}
    for instrument_id, items in items_by_instrument.items():
        mine = first[first["instrument"] == instrument_id]
        values, ids = packed_answers.get(instrument_id, (None, None))
        answers[instrument_id] = _first_answers_from_packed(mine, items, values, ids)
    return Administrations(
        status_counts, summaries, first_ids.reset_index(drop=True), first_answers=answers
    )


def _first_answers_from_packed(
    first: pd.DataFrame, items: Sequence[str], values: bytes | None, ids: bytes | None
) -> pd.DataFrame:
    """``client`` and item answers of ``first``'s administrations (``first_id``).

    ``values``/``ids``: the packed answers (item values in sorted item order) of the
    summaries whose answers have exactly the instrument's items; the others are read
    from the administrations as text.
    """
    by_id = pd.DataFrame(
        np.frombuffer(values or b"", dtype=">f8").astype(np.float64).reshape(-1, len(items)),
        columns=sorted(items),
        index=np.frombuffer(ids or b"", dtype=">i8").astype(np.int64),
    )[list(items)]
    clients = first.set_index("first_id")["client"]
    packed = clients.index.isin(by_id.index)
    answers = by_id.reindex(clients.index[packed])
    answers.insert(0, "client", clients[packed].to_numpy())
    if not packed.all():
        others = clients[~packed]
        ids_literal = "{" + ",".join(map(str, others.index.tolist())) + "}"
        answers = pd.concat([answers, _answers_by_id_as_text(others, items, ids_literal)])
    return answers.reset_index(drop=True)


def all_first_answers(
    organisation: Organisation,
    items_by_instrument: Mapping[str, Sequence[str]],
    administrations: Administrations | None = None,
    scope: InsightScope = WHOLE_CLINIC,
) -> dict[str, pd.DataFrame]:
    """:func:`first_answers` of every instrument, keyed by instrument id, rows by client.

    With ``administrations`` from PostgreSQL (read with these items) the answers are
    those its pass read from the episode summaries, which keep each episode's first
    completed administration's answers; otherwise each instrument's first
    administrations are found by :func:`first_answers`. Same frames.
    """
    out = {}
    read = administrations.first_answers if administrations is not None else None
    for instrument_id, items in items_by_instrument.items():
        if read is not None and instrument_id in read:
            answers = read[instrument_id][["client", *items]]
        else:
            answers = first_answers(organisation, instrument_id, items, scope)
        out[instrument_id] = answers.sort_values("client", ignore_index=True)
    return out


def _answers_by_id_as_text(clients: pd.Series, item_ids: Sequence[str], ids: str) -> pd.DataFrame:
    """``client`` and the answers of the administrations in ``clients``' index (by id).

    The ids travel as one array literal (``ids``): psycopg adapts a list element by
    element, which for 100,000 ids costs more than the query.
    """
    extracted = ", ".join(["a.answers ->> %s"] * len(item_ids))
    sql = f"""
        SELECT a.id, {extracted}
        FROM {Administration._meta.db_table} a
        WHERE a.id = ANY(%s::bigint[])
    """  # noqa: S608 - the table name comes from the model, values are parameters
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


def first_answers(
    organisation: Organisation,
    instrument_id: str,
    item_ids: Sequence[str],
    scope: InsightScope = WHOLE_CLINIC,
):
    """Item answers of each client's first completed administration of one instrument.

    One administration per client keeps respondents independent, as reliability and DIF
    assume (repeated check-ins of the same client would count one person many times).
    "First" is the earliest ``completed_at`` (ties: the lowest id). Returns
    ``client`` plus one float column per item (NaN for a skipped item).
    """
    first = (
        _administrations(organisation, instrument_id, scope)
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


def administration_status_counts(
    organisation: Organisation, scope: InsightScope = WHOLE_CLINIC
) -> pd.DataFrame:
    """Administrations per instrument and status: ``instrument, status, count``."""
    queryset = (
        _in_scope(organisation, scope)
        .values("instrument_id", "status")
        .annotate(count=Count("id"))
        .order_by("instrument_id", "status")
        .values_list("instrument_id", "status", "count")
    )
    return frame(queryset, ["instrument", "status", "count"])
