"""Benchmark: one therapist's relationship profile (#20.6) on the insights bench database.

Times :func:`rapport.insights.profiles.therapist_profile` for one therapist of the
``bench-<clients>`` clinic of ``bench/insights.py`` (same database, seeded there):

* cold: the cache emptied first, so the clinic's per-episode measures are read and the
  five random-intercept models and every group-gap model are fitted (what the first
  visitor after the freshness period waits for);
* warm: the clinic-wide fits come from the cache (every later visit in the period);

and, without the database, the model fitting alone on a synthetic frame of ``--clients``
rows (``--fit-only``), which shows how the fitting scales to 100,000 clients. Target
≤ 2 s for the page. Median of ``--repeats`` after a warm-up.

Run (briefly: the machine is shared)::

    .venv/bin/python bench/therapist_profile.py --clients 5000
    .venv/bin/python bench/therapist_profile.py --fit-only --clients 100000
"""

from __future__ import annotations

import argparse
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


def _report(name: str, median: float, times: list[float]) -> None:
    runs = ", ".join(f"{t:.3f}" for t in times)
    verdict = "within" if median <= TARGET_SECONDS else "OVER"
    print(f"{name}: median {median:.3f} s ({runs} s); target {TARGET_SECONDS:.0f} s: {verdict}")


def fit_only(clients: int, repeats: int) -> None:
    import numpy as np
    import pandas as pd

    from rapport.psychometrics.multilevel import (
        group_gaps,
        random_intercepts,
        random_intercepts_binary,
    )

    rng = np.random.default_rng(20261206)
    therapists = max(clients // 40, 2)
    therapist = rng.integers(0, therapists, clients)
    shift = rng.normal(0, 0.3, therapists)[therapist]
    frame = pd.DataFrame(
        {
            "therapist": therapist,
            "trust_mean": 5 + shift + rng.normal(0, 0.9, clients),
            "alliance_mean": 4 + shift / 2 + rng.normal(0, 0.7, clients),
            "openness_mean": 5 + rng.normal(0, 1, clients),
            "outcome_improvement": 5 + rng.normal(0, 5, clients),
            "dropout": (rng.random(clients) < 0.25).astype(float),
            "language": rng.choice(["English", "Spanish", "Other"], clients),
        }
    )

    def work() -> None:
        for column in ("trust_mean", "alliance_mean", "openness_mean", "outcome_improvement"):
            random_intercepts(frame, column)
        random_intercepts_binary(frame, "dropout")
        for group in ("English", "Spanish", "Other"):
            group_gaps(frame, "trust_mean", "language", group)

    median, times = _median(work, repeats)
    _report(f"fitting only, {clients:,} clients, {therapists:,} therapists", median, times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fit-only", action="store_true", help="no database: fitting only")
    args = parser.parse_args(argv)
    if args.fit_only:
        fit_only(args.clients, args.repeats)
        return 0

    from bench.insights import BENCH_ENV, ensure_database

    os.environ.update(BENCH_ENV)
    ensure_database()
    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("migrate", verbosity=0)  # as bench/insights.py does

    from rapport.accounts.models import Role, User
    from rapport.clinic.models import Organisation
    from rapport.insights import profiles

    slug = f"bench-{args.clients}"
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        print(f"no organisation {slug}: seed it with bench/insights.py --clients {args.clients}")
        return 1
    therapist = User.objects.filter(organisation=organisation, role=Role.THERAPIST).first()
    if therapist is None:
        print(f"{slug} has no therapist")
        return 1

    def cold() -> None:
        cache.clear()
        profiles.therapist_profile(organisation, therapist.pk)

    print(f"{slug}: {organisation.clients.count():,} clients")
    _report("profile, cold (measures read, models fitted)", *_median(cold, args.repeats))
    _report(
        "profile, warm (clinic fits cached)",
        *_median(lambda: profiles.therapist_profile(organisation, therapist.pk), args.repeats),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
