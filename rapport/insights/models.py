"""Cached insight tables and versioned expected-treatment-response fits, per organisation."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from rapport.clinic.models import Organisation


class InsightSnapshot(models.Model):
    """The computed insight pages of one organisation at one moment.

    ``data`` holds only suppressed aggregates (never a client-level row), so pages and CSV
    downloads can be served from it to every role that may see insights. The newest row
    per organisation is the one shown; older rows are deleted on refresh. Researchers
    are shown ``released`` instead, the figures released under the differencing control
    (:mod:`rapport.insights.release`), as of ``released_at``. ``profiles`` holds the
    therapist profiles' fits, computed with the pages from the same reading; unlike
    ``data`` it has a row per therapist, so it is read only by
    :func:`rapport.insights.profiles.therapist_profile`, one therapist at a time.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="insight_snapshots"
    )
    computed_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(help_text="How long the computation took.")
    data = models.JSONField()
    # rapport.insights.profile_fits; deferred when the pages load a snapshot (it is large).
    profiles = models.JSONField(null=True)
    released = models.JSONField(null=True)
    released_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["organisation", "-computed_at"])]

    def __str__(self) -> str:
        return f"insights of {self.organisation} at {self.computed_at:%Y-%m-%d %H:%M}"


class PrecomputedView(models.Model):
    """A filtered view of an organisation's insights, computed before anyone opens it.

    Right after the worker's refresh of a clinic's snapshot it computes the filtered
    views the pages link to over the whole clinic (:func:`rapport.insights.snapshots.
    standard_scopes`): at 100,000 clients one takes 2 to 4 seconds, too long to wait for
    on a click. Exact figures with their protection marks, like the snapshot's ``data``;
    deleted with the snapshot they were computed beside, so a view is never older than
    the clinic's figures.
    """

    snapshot = models.ForeignKey(InsightSnapshot, on_delete=models.CASCADE, related_name="views")
    scope_key = models.CharField(max_length=200)
    computed_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(help_text="How long the computation took.")
    data = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["snapshot", "scope_key"], name="precomputed_view_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.scope_key} beside {self.snapshot}"


class ScopedRelease(models.Model):
    """The researchers' release of one filtered view of an organisation's insights.

    The same differencing control as ``InsightSnapshot.released``, kept per filter
    (``scope_key``, :attr:`rapport.insights.scope.InsightScope.key`): a filtered view's
    table changes for researchers only when its groups have moved by at least the
    suppression threshold, so opening the same filtered view before and after one
    client's check-in cannot be differenced either. Protected figures only.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="scoped_releases"
    )
    scope_key = models.CharField(max_length=200)
    released = models.JSONField()
    released_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "scope_key"], name="scoped_release_unique"
            )
        ]

    def __str__(self) -> str:
        return f"release of {self.scope_key} for {self.organisation}"


class ExpectedResponseFit(models.Model):
    """One fitted expected-treatment-response model; versions are never overwritten.

    The newest version per organisation and instrument drives the not-on-track flag;
    older versions stay so that any past flag can be reproduced from its parameters.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="expected_response_fits"
    )
    instrument_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    fitted_at = models.DateTimeField(default=timezone.now)
    # ExpectedResponseModel.to_dict(): method, percentiles, coefficients, software versions.
    parameters = models.JSONField()
    n_episodes = models.PositiveIntegerField()
    method = models.CharField(max_length=40)

    class Meta:
        ordering = ["organisation", "instrument_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "instrument_id", "version"],
                name="expected_response_version_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} v{self.version} for {self.organisation}"


class EpisodeSummary(models.Model):
    """One episode's administrations of one instrument in one status, summarised.

    PostgreSQL only: the rows are written by the database itself. Statement-level
    triggers on the administrations (insert, update, delete), on sessions (a changed
    number or episode), episodes (a changed client) and clients (a changed organisation)
    mark the (episode, instrument) pairs a statement touched as
    :class:`StaleEpisodeSummary`, so every writer (check-in, CSV/FHIR import, the
    synthetic COPY writer, a manual fix in psql) is covered, and
    :func:`rapport.insights.summaries.refresh_stale`, called by the reader before it
    reads, recomputes their rows; TRUNCATE of the administrations empties the table. See
    ``migrations/0002_episodesummary.py`` (the computation) and
    ``migrations/0003_staleepisodesummary.py`` (the marks). On SQLite the table stays
    empty and :mod:`rapport.insights.data` reads the administrations.

    ``count`` is the number of administrations; the other figures are for completed
    ones only (NULL for other statuses): ``n`` scored, ``first``/``last`` score at the
    lowest/highest session number, ``mean``, ``early`` (mean of sessions 1 to
    ``data.EARLY_SESSIONS``), the first completed administration (``first_time`` =
    ``completed_at`` in epoch seconds, ``first_id``; ties go to the lower id), the same
    figures ``packed`` as the reader takes them, and the first administration's answers
    (``answer_keys`` in byte order, ``answer_values`` packed doubles; NULL keys when an
    answer is not a JSON number or null). Never shown anywhere: it only feeds the
    insight computation.
    """

    episode_id = models.BigIntegerField()
    instrument_id = models.CharField(max_length=64)
    status = models.CharField(max_length=12)
    count = models.IntegerField()
    n = models.IntegerField(null=True)
    first = models.FloatField(null=True)
    last = models.FloatField(null=True)
    mean = models.FloatField(null=True)
    early = models.FloatField(null=True)
    first_time = models.FloatField(null=True)
    first_id = models.BigIntegerField(null=True)
    organisation_id = models.BigIntegerField()
    client_id = models.BigIntegerField()
    packed = models.BinaryField(null=True)
    answer_keys = models.JSONField(null=True)
    answer_values = models.BinaryField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["episode_id", "instrument_id", "status"], name="one_episode_summary"
            )
        ]
        indexes = [models.Index(fields=["organisation_id"], name="insights_ep_organis_idx")]

    def __str__(self) -> str:
        return f"{self.instrument_id} {self.status} in episode {self.episode_id}"


class StaleEpisodeSummary(models.Model):
    """An (episode, instrument) pair whose :class:`EpisodeSummary` rows may be out of date.

    PostgreSQL only, like the summaries: the triggers of ``migrations/0003`` add a row for
    every pair a write touched, in the writer's transaction, and
    :func:`rapport.insights.summaries.refresh_stale` (which the insights reader calls
    first) claims the rows and recomputes their summaries. The pair is the primary key,
    so marking an already stale pair adds nothing and the check-in's write stays one
    small index insert. On SQLite the table stays empty.
    """

    pk = models.CompositePrimaryKey("episode_id", "instrument_id")
    episode_id = models.BigIntegerField()
    instrument_id = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.instrument_id} in episode {self.episode_id} (stale)"
