"""Cached insight pages per organisation, and the freshness rule.

Pages are served from the newest :class:`InsightSnapshot` of the organisation. A snapshot
older than ``INSIGHTS_MAX_AGE`` (settings, default 24 hours) is recomputed when a page is
opened; ``rapport insights refresh`` (e.g. nightly from cron) and the "Refresh now" button
recompute at once. Each page shows when its figures were computed. A refresh also fits
the therapist profiles' clinic-wide models on the same per-episode measures and stores
them with the snapshot (:mod:`rapport.insights.profile_fits`).

A snapshot stores the exact figures (with their protection marks). What a reader gets
follows ``rapport.security.access.insight_disclosure``: the exact figures, or the
protected ones (:mod:`rapport.insights.disclosure`). Researchers see the snapshot's
*release* (:mod:`rapport.insights.release`), built from the protected figures: a table
there changes only when its groups have moved by at least the suppression threshold, so
two refreshes around one client's check-in cannot be differenced.

A filtered view (:class:`~rapport.insights.scope.InsightScope`) the pages link to over
the whole clinic (each site, each quick period, each quick period at each site:
:func:`standard_scopes`) is computed by the worker right after the clinic's snapshot
(:func:`precompute_views`) and stored beside it (:class:`PrecomputedView`). Any other
filtered view is computed when first asked for, only the page asked for (a researcher's
whole), and kept in the cache until the clinic's snapshot is recomputed, so a shared link
opens at once for the next reader (:func:`page_figures`); a view holding the same episodes
as the clinic or a stored view (a period spanning the clinic's whole history) is read from
it instead. Researchers get a filtered view under its own release (:class:`ScopedRelease`).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Collection

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone

from rapport.accounts.models import Role
from rapport.clinic.models import Episode, Organisation, Site
from rapport.insights import profile_fits, reports
from rapport.insights.disclosure import protected
from rapport.insights.models import InsightSnapshot, PrecomputedView, ScopedRelease
from rapport.insights.release import release
from rapport.insights.scope import WHOLE_CLINIC, InsightScope, quick_periods
from rapport.security.access import Disclosure

DEFAULT_MAX_AGE = datetime.timedelta(hours=24)


def max_age() -> datetime.timedelta:
    return getattr(settings, "INSIGHTS_MAX_AGE", DEFAULT_MAX_AGE)


def is_fresh(computed_at: datetime.datetime, schema: object) -> bool:
    """Whether figures computed at ``computed_at`` with ``schema`` may still be shown."""
    return schema == reports.SCHEMA and timezone.now() - computed_at <= max_age()


def refresh(organisation: Organisation) -> InsightSnapshot:
    """Compute the organisation's insights and the therapist profiles' fits now, store
    them and drop older snapshots."""
    computed, per_episode = reports.compute_with_measures(organisation)
    fitting_started = time.perf_counter()
    fits = profile_fits.clinic_fits(profile_fits.profile_measures(per_episode))
    seconds = computed.pop("seconds") + (time.perf_counter() - fitting_started)
    now = timezone.now()
    with transaction.atomic():
        previous = (
            InsightSnapshot.objects.select_for_update()
            .defer("profiles")
            .filter(organisation=organisation)
            .order_by("-computed_at")
            .first()
        )
        last_release = previous.released if previous is not None else None
        released = release(last_release, protected(computed), threshold=reports.MIN_CELL)
        unchanged = last_release is not None and released == last_release
        snapshot = InsightSnapshot.objects.create(
            organisation=organisation,
            computed_at=now,
            seconds=seconds,
            data=computed,
            profiles=fits,
            released=released,
            released_at=previous.released_at if unchanged and previous is not None else now,
        )
        InsightSnapshot.objects.filter(organisation=organisation).exclude(pk=snapshot.pk).delete()
    return snapshot


def current(organisation: Organisation) -> InsightSnapshot:
    """The newest snapshot if it is fresh enough (and of the current schema), else a newly
    computed one."""
    snapshot = (
        InsightSnapshot.objects.filter(organisation=organisation)
        .defer("profiles")  # only the therapist profile reads them, one therapist's rows
        .order_by("-computed_at")
        .first()
    )
    if snapshot is None or not is_fresh(snapshot.computed_at, snapshot.data.get("schema")):
        return refresh(organisation)
    return snapshot


def for_scope(
    organisation: Organisation,
    scope: InsightScope,
    pages: Collection[str] = reports.PAGE_NAMES,
) -> InsightSnapshot:
    """The figures of ``scope``: the clinic's snapshot when unfiltered, else the view
    precomputed beside it, else the snapshot or a precomputed view holding the same
    episodes, else a computation of the scope's ``pages`` (all four by default), cached
    until that snapshot is replaced (an unsaved snapshot holding those pages)."""
    clinic = current(organisation)
    if scope.is_whole_clinic:
        return clinic
    stored = _stored_view(clinic, scope)
    if stored is not None:
        return stored
    named = ",".join(name for name in reports.PAGE_NAMES if name in pages)
    key = f"insights:{organisation.pk}:{clinic.computed_at.isoformat()}:{scope.key}:{named}"
    cached = cache.get(key)
    if cached is None:
        same = _kept_view_of_the_same_episodes(clinic, scope)
        if same is not None:
            return same
        computed = reports.compute(organisation, scope, pages)
        cached = {"seconds": computed.pop("seconds"), "data": computed, "at": timezone.now()}
        cache.set(key, cached, timeout=max_age().total_seconds())
    return InsightSnapshot(
        organisation=organisation,
        computed_at=cached["at"],
        seconds=cached["seconds"],
        data=cached["data"],
    )


def _stored_view(clinic: InsightSnapshot, scope: InsightScope) -> InsightSnapshot | None:
    """The view of ``scope`` stored beside the clinic's snapshot, if the worker stored it."""
    stored = (
        PrecomputedView.objects.filter(snapshot=clinic, scope_key=scope.key)
        .values("computed_at", "seconds", "data")
        .first()
    )
    return None if stored is None else InsightSnapshot(organisation=clinic.organisation, **stored)


def _kept_view_of_the_same_episodes(
    clinic: InsightSnapshot, scope: InsightScope
) -> InsightSnapshot | None:
    """The clinic's snapshot, or a view stored beside it, that holds exactly the episodes
    of ``scope`` (a period spanning the clinic's whole history; a site that is the
    clinic's only one), else None.

    Figures depend on nothing but the episodes they cover, so such a view's figures are
    ``scope``'s, and a reader who types "since we opened" need not wait for them to be
    computed again. A wider view holds every episode of ``scope``, so the same number of
    episodes means the same episodes: one counting query decides.
    """
    wider = scope.coarser()  # fewest conditions dropped first: the narrowest kept view wins
    stored = set(
        PrecomputedView.objects.filter(
            snapshot=clinic, scope_key__in=[view.key for view in wider]
        ).values_list("scope_key", flat=True)
    )
    kept = [view for view in wider if view.is_whole_clinic or view.key in stored]
    counts = Episode.objects.filter(client__organisation=clinic.organisation).aggregate(
        scope=Count("pk", filter=scope.condition()),
        **{
            f"kept_{index}": Count("pk")
            if view.is_whole_clinic
            else Count("pk", filter=view.condition())
            for index, view in enumerate(kept)
        },
    )
    for index, view in enumerate(kept):
        if counts[f"kept_{index}"] == counts["scope"]:
            return clinic if view.is_whole_clinic else _stored_view(clinic, view)
    return None


def page_figures(
    organisation: Organisation,
    user,
    disclosure: Disclosure,
    scope: InsightScope,
    page: str,
) -> tuple[InsightSnapshot, dict, datetime.datetime]:
    """What ``user`` is shown of ``page`` for ``scope``: the snapshot or view behind it,
    the figures (:func:`figures_for`) and when they were computed.

    A filtered view nobody has opened since the last refresh is computed on its first
    visit: for staff, only the page they opened (a second page is computed when it is
    opened). A researcher's view is computed whole, because it is released whole
    (:func:`_scoped_release`): all its pages then come from one computation, and a later
    one replaces each table only under the differencing control, so no two pages of a
    view can be set side by side from computations a few check-ins apart.
    """
    pages = reports.PAGE_NAMES if user.role == Role.RESEARCHER else (page,)
    snapshot = for_scope(organisation, scope, pages)
    figures, figures_at = figures_for(snapshot, user, disclosure, scope)
    return snapshot, figures, figures_at


def standard_scopes(organisation: Organisation, today: datetime.date) -> list[InsightScope]:
    """The filtered views of the whole clinic the insight pages link to on ``today``:
    each site, each quick period (staff's and researchers',
    :func:`~rapport.insights.scope.quick_periods`), and each quick period at each site.
    Teams and therapists are left out: their views are small and quick to compute."""
    sites = [
        None,
        *Site.objects.filter(organisation=organisation)
        .order_by("name")
        .values_list("pk", flat=True),
    ]
    periods: list[tuple[datetime.date | None, datetime.date | None]] = [(None, None)]
    for whole_years in (False, True):
        for _name, first, last in quick_periods(today, whole_years=whole_years):
            if (first, last) not in periods:
                periods.append((first, last))
    scopes = [InsightScope(first, last, site_id=site) for first, last in periods for site in sites]
    return [scope for scope in scopes if not scope.is_whole_clinic]


def precompute_views(snapshot: InsightSnapshot, today: datetime.date | None = None) -> int:
    """Compute and store the standard filtered views (:func:`standard_scopes`) beside
    ``snapshot``; how many were stored. Stops early, storing nothing more, when the
    snapshot is replaced meanwhile (its successor gets its own views)."""
    today = today or timezone.localdate()
    stored = 0
    for scope in standard_scopes(snapshot.organisation, today):
        computed = reports.compute(snapshot.organisation, scope)
        seconds = computed.pop("seconds")
        try:
            with transaction.atomic():
                if not InsightSnapshot.objects.filter(pk=snapshot.pk).exists():
                    break
                PrecomputedView.objects.update_or_create(
                    snapshot=snapshot,
                    scope_key=scope.key,
                    defaults={"computed_at": timezone.now(), "seconds": seconds, "data": computed},
                )
        except IntegrityError:  # the snapshot was deleted after the check above
            break
        stored += 1
    return stored


def refresh_with_views(organisation: Organisation) -> tuple[InsightSnapshot, int]:
    """:func:`refresh`, then :func:`precompute_views` (the worker's hourly job and
    ``rapport insights refresh``; a refresh in a request computes the clinic only)."""
    snapshot = refresh(organisation)
    return snapshot, precompute_views(snapshot)


def figures_for(
    snapshot: InsightSnapshot,
    user,
    disclosure: Disclosure,
    scope: InsightScope = WHOLE_CLINIC,
) -> tuple[dict, datetime.datetime]:
    """The figures ``user`` is shown at ``disclosure`` and when they were computed: for
    researchers the release (of the clinic, or of the filtered ``scope``), else the latest
    computation, exact or protected."""
    if user.role == Role.RESEARCHER:
        if disclosure is not Disclosure.PROTECTED:
            raise ValueError("researchers see protected figures only")
        if not scope.is_whole_clinic:
            return _scoped_release(snapshot, scope)
        if snapshot.released is not None:
            return snapshot.released, snapshot.released_at or snapshot.computed_at
    if disclosure is Disclosure.EXACT:
        return snapshot.data, snapshot.computed_at
    return protected(snapshot.data), snapshot.computed_at


def _scoped_release(
    snapshot: InsightSnapshot, scope: InsightScope
) -> tuple[dict, datetime.datetime]:
    """The researchers' release of a filtered view, moved on by ``snapshot`` where the
    differencing control allows (the rule of the clinic-wide release)."""
    if set(snapshot.data["pages"]) != set(reports.PAGE_NAMES):
        raise ValueError("a researcher's filtered view is released whole: compute all its pages")
    figures = protected(snapshot.data)
    with transaction.atomic():
        stored, created = ScopedRelease.objects.select_for_update().get_or_create(
            organisation=snapshot.organisation,
            scope_key=scope.key,
            defaults={"released": figures, "released_at": snapshot.computed_at},
        )
        if created:
            return stored.released, stored.released_at
        previous = stored.released if stored.released.get("schema") == reports.SCHEMA else None
        released = release(previous, figures, threshold=reports.MIN_CELL)
        if released != stored.released:
            stored.released, stored.released_at = released, snapshot.computed_at
            stored.save(update_fields=["released", "released_at"])
    return stored.released, stored.released_at
