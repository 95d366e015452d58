"""Benchmark: one therapist's relationship profile (#20.6) on the insights bench database.

Times, for one therapist of the ``bench-<clients>`` clinic of ``bench/insights.py`` (same
database, seeded there; median of ``--repeats`` after a warm-up):

* **page**: what a visitor waits for — ``GET /profile/`` as the therapist through the
  test client (access check, audit entry, template), with a fresh snapshot holding the
  clinic-wide fits, and :func:`rapport.insights.profiles.therapist_profile` alone (one
  therapist's rows loaded from the snapshot's JSON);
* **refresh**: :func:`rapport.insights.snapshots.refresh` (all insight pages and the
  profile fits, stored) against the same refresh with the fitting switched off; the
  fitting alone on the per-episode measures the refresh has read
  (:func:`rapport.insights.profile_fits.clinic_fits`: five random-intercept models and
  every group-gap model); and the size of the stored fits;
* **fallback**: the profile while there is no fresh snapshot (cache emptied: the
  clinic's measures read and the models fitted) — what the old page cost every first
  visit;

and, without the database, the fits and their stored layout on a synthetic frame of
``--clients`` rows with the synthetic clinic's groups (``--fit-only``).
``--synthetic-fits N`` replaces the stored fits by those of N synthetic clients before
the page is timed (its cost depends on their size); ``--database`` uses another
database on the same server. Target ≤ 2 s for the page.

Run (briefly: the machine is shared)::

    .venv/bin/python bench/therapist_profile.py --clients 5000
    .venv/bin/python bench/therapist_profile.py --clients 100000 --repeats 3
    .venv/bin/python bench/therapist_profile.py --fit-only --clients 100000
    .venv/bin/python bench/therapist_profile.py --clients 400 --database rp_profile \\
        --synthetic-fits 100000   # the page with stored fits of a 100,000-client size
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 2.0


def _median(work, repeats: int) -> tuple[float, list[float]]:
    work()  # warm-up: imports, plans
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return statistics.median(times), times


def _report(name: str, median: float, times: list[float], *, page: bool = True) -> None:
    """Print a median and its runs; against the page target if it is what a visitor waits."""
    runs = ", ".join(f"{t:.3f}" for t in times)
    verdict = "within" if median <= TARGET_SECONDS else "OVER"
    target = f"; target {TARGET_SECONDS:.0f} s: {verdict}" if page else ""
    print(f"{name}: median {median:.3f} s ({runs} s){target}")


# The synthetic clinic's group shares (race/ethnicity: one group per client; language).
RACE_GROUPS = {
    "White": 0.46, "Black or African American": 0.17, "Hispanic or Latino": 0.17,
    "Asian": 0.065, "Multiracial": 0.05, "Prefer not to say": 0.04,
    "Middle Eastern or North African": 0.025, "American Indian or Alaska Native": 0.01,
    "Another race or ethnicity": 0.005, "Native Hawaiian or Pacific Islander": 0.005,
}  # fmt: skip
LANGUAGES = {"English": 0.9, "Spanish": 0.08, "Another language": 0.02}


def synthetic_measures(clients: int, first_therapist: int = 1):
    """A profile frame (:func:`rapport.insights.profile_fits.profile_measures`' columns)
    of ``clients`` episodes, 40 per therapist, numbered from ``first_therapist``."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(20261206)
    therapists = max(clients // 40, 2)
    therapist = rng.integers(0, therapists, clients)
    shift = rng.normal(0, 0.3, therapists)[therapist]
    return pd.DataFrame(
        {
            "therapist": therapist + first_therapist,
            "trust_mean": 5 + shift + rng.normal(0, 0.9, clients),
            "alliance_mean": 4 + shift / 2 + rng.normal(0, 0.7, clients),
            "openness_mean": 5 + rng.normal(0, 1, clients),
            "outcome_improvement": 5 + rng.normal(0, 5, clients),
            "dropout": (rng.random(clients) < 0.25).astype(float),
            "race_ethnicity": rng.choice(list(RACE_GROUPS), clients, p=list(RACE_GROUPS.values())),
            "language": rng.choice(list(LANGUAGES), clients, p=list(LANGUAGES.values())),
        }
    )


def fit_only(clients: int, repeats: int) -> None:
    """What a refresh adds, without the database: every profile model and the stored
    layout, on a synthetic frame with the synthetic clinic's groups."""
    import json

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings_for_tests")
    import django

    django.setup()
    from rapport.insights import profile_fits

    frame = synthetic_measures(clients)
    median, times = _median(lambda: profile_fits.clinic_fits(frame), repeats)
    therapists = frame["therapist"].nunique()
    name = f"fits and layout only, {clients:,} clients, {therapists:,} therapists"
    _report(name, median, times, page=False)
    size = len(json.dumps(profile_fits.clinic_fits(frame), allow_nan=False))
    print(f"stored layout: {size / 1e6:.2f} MB of JSON")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-only", action="store_true", help="no database: fitting only")
    parser.add_argument(
        "--database", help="another PostgreSQL database than the insights bench's (same server)"
    )
    parser.add_argument(
        "--synthetic-fits",
        type=int,
        metavar="CLIENTS",
        help="time the page with stored fits of a synthetic clinic of this size",
    )
    args = parser.parse_args(argv)
    if args.fit_only:
        fit_only(args.clients, args.repeats)
        return 0

    from bench.insights import BENCH_ENV, ensure_database

    os.environ.update(BENCH_ENV)
    if args.database:
        os.environ["RAPPORT_DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.database}"
    # The test client speaks plain HTTP to "testserver"; static files from the source tree
    # (the page's stylesheet links need no collectstatic manifest).
    os.environ.update(RAPPORT_ALLOWED_HOSTS="testserver", RAPPORT_INSECURE_COOKIES="1")
    if not args.database:
        ensure_database()
    import django

    django.setup()
    from django.conf import settings

    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)  # as bench/insights.py does

    from rapport.accounts.models import Role, User
    from rapport.clinic.models import Organisation
    from rapport.insights import profile_fits, profiles, reports, snapshots
    from rapport.insights.models import InsightSnapshot
    from rapport.testing import login_verified

    slug = f"bench-{args.clients}"
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        print(f"no organisation {slug}: seed it with bench/insights.py --clients {args.clients}")
        return 1
    therapist = (
        User.objects.filter(organisation=organisation, role=Role.THERAPIST).order_by("pk").first()
    )
    if therapist is None:
        print(f"{slug} has no therapist")
        return 1
    print(f"{slug}: {organisation.clients.count():,} clients; {os.getloadavg()[0]:.1f} load")

    per_episode = reports.read_episode_measures(organisation).per_episode
    _report(
        "refresh, the profile fits it adds (fitting on the frame read)",
        *_median(
            lambda: profile_fits.clinic_fits(profile_fits.profile_measures(per_episode)),
            args.repeats,
        ),
        page=False,
    )

    def refresh_without_fits() -> None:
        """The refresh as it was before the fits were stored with it (A/B, same code)."""
        fit, measures = profile_fits.clinic_fits, profile_fits.profile_measures
        profile_fits.clinic_fits = profile_fits.profile_measures = lambda frame: None
        try:
            snapshots.refresh(organisation)
        finally:
            profile_fits.clinic_fits, profile_fits.profile_measures = fit, measures

    _report(
        "refresh, whole snapshot without the fits",
        *_median(refresh_without_fits, args.repeats),
        page=False,
    )
    _report(
        "refresh, whole snapshot with the fits",
        *_median(lambda: snapshots.refresh(organisation), args.repeats),
        page=False,
    )
    if args.synthetic_fits:
        # The page's cost depends on the stored fits' size, not on the clinic's: store
        # fits of a synthetic clinic of that size over this therapist's id range.
        fits = profile_fits.clinic_fits(synthetic_measures(args.synthetic_fits, therapist.pk))
        InsightSnapshot.objects.filter(organisation=organisation).update(profiles=fits)
        print(f"stored fits replaced by those of {args.synthetic_fits:,} synthetic clients")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_column_size(profiles), octet_length(profiles::text),"
            " pg_column_size(data) FROM insights_insightsnapshot WHERE organisation_id = %s",
            [organisation.pk],
        )
        stored, text, pages = cursor.fetchone()
    print(f"stored fits: {stored / 1e6:.2f} MB in the table ({text / 1e6:.2f} MB as JSON text); "
          f"the pages' figures: {pages / 1e6:.2f} MB")  # fmt: skip

    cache.clear()
    _report(
        "profile, stored fits (one therapist's rows from the snapshot)",
        *_median(lambda: profiles.therapist_profile(organisation, therapist.pk), args.repeats),
    )
    browser = Client()
    login_verified(browser, therapist)

    def page() -> None:
        response = browser.get("/profile/")
        if response.status_code != 200:
            raise RuntimeError(f"/profile/ answered {response.status_code}")

    _report("page GET /profile/ (stored fits)", *_median(page, args.repeats))

    def fallback() -> None:
        cache.clear()
        profiles.therapist_profile(organisation, therapist.pk)

    fresh_until = InsightSnapshot.objects.get(organisation=organisation).computed_at
    InsightSnapshot.objects.filter(organisation=organisation).update(
        computed_at=fresh_until - snapshots.max_age() - datetime.timedelta(minutes=1)
    )
    try:
        _report(
            "profile, no fresh snapshot (measures read, models fitted)",
            *_median(fallback, args.repeats),
        )
    finally:
        InsightSnapshot.objects.filter(organisation=organisation).update(computed_at=fresh_until)
    return 0


if __name__ == "__main__":
    sys.exit(main())
