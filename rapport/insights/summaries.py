"""Bring the per-episode summaries up to date before they are read.

On PostgreSQL writers do not recompute :class:`~rapport.insights.models.EpisodeSummary`
rows any more: triggers (``migrations/0003_staleepisodesummary.py``) only mark the
(episode, instrument) pairs a write touched in
:class:`~rapport.insights.models.StaleEpisodeSummary`, and :func:`refresh_stale`
recomputes the marked pairs. :mod:`rapport.insights.data` calls it before every read of
the summaries, and the bulk writers (``rapport synth``, the CSV import) call it when they
finish, so that the first insights page after a large load does not pay for it.

Why the summaries read after a refresh include every change committed before the
refresh started, as they did when every write recomputed them (PostgreSQL, READ
COMMITTED):

* A mark is committed in the same transaction as the change it marks: the trigger
  inserts it or, when the pair is already marked, locks the existing mark (``ON CONFLICT
  ... DO UPDATE ... WHERE false``), so that nobody can remove it before the writer ends.
  (``DO NOTHING`` would not lock it: a refresh could claim that mark and recompute
  without the uncommitted change, which would then be committed with no mark left.)
* The refresh claims the marks no other transaction holds, ``DELETE ... WHERE ... IN
  (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``, and in a later statement, so with a
  later snapshot, recomputes the claimed pairs and the pairs whose marks are still there
  (held by a writer that has not committed yet, or by another refresh), with
  ``insights_refresh``. Every change committed before the refresh started has a
  committed mark, which this refresh either claims or still sees (and recomputes with a
  snapshot that includes the change), or which another refresh claimed after that
  commit and has already committed a recompute for.
* A change not committed when the recompute takes its snapshot keeps its mark: a new
  mark is not visible to the claim, and a locked one is skipped by it. The next refresh
  recomputes that pair. A writer that aborts leaves an old mark as it was (one more
  recompute, harmless).
* Two refreshes at once claim disjoint marks (each skips the other's); both recompute
  what the other claimed but has not committed. ``insights_refresh``'s advisory locks
  (one per episode, taken in episode order, or one exclusive lock for more than 64
  episodes) make the second recompute of an episode wait for the first to commit and
  then read a snapshot that includes it, so an older recompute never overwrites a newer
  one.
* Nobody waits in a cycle: a refresh never waits for a writer of records (it skips
  locked marks), only for another refresh's advisory locks, taken in one order. A writer
  whose pair was just claimed waits, on the mark's key, for that refresh to commit (one
  short recompute), then inserts a new mark; writers marking the same pair wait for each
  other, as they waited on the per-episode lock before.

When more than 5,000 episodes are marked and they are more than half of all episodes
(the synthetic writer's first load), a refresh of every clinic rebuilds every summary in
one pass (``insights_rebuild_episode_summaries``) instead. A refresh for one clinic
(``insights.0004``) claims and recomputes only that clinic's pairs, so one clinic's
insights never wait for another's backlog. On SQLite the summaries are not used
(the insights read the administrations) and :func:`refresh_stale` does nothing.
"""

from __future__ import annotations

from django.db import connection, transaction


def refresh_stale(organisation_id: int | None = None) -> None:
    """Recompute the summaries of the marked (episode, instrument) pairs, in one transaction.

    ``organisation_id`` limits it to that clinic's episodes (the insights pages of one
    clinic); without it every clinic's pairs are refreshed (the bulk writers). The marks
    are claimed and the summaries recomputed in the same transaction, so a failure
    leaves both as they were. Call it outside a longer transaction where possible: the
    claimed marks stay locked until the commit, and a writer touching one of those pairs
    waits for it.
    """
    if connection.vendor != "postgresql":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT insights_refresh_stale(%s)", [organisation_id])
