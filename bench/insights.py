"""Benchmark: every clinic insight for a 100,000-client synthetic clinic on PostgreSQL.

Times :func:`rapport.insights.reports.compute` (all four pages: instrument health, trust &
alliance, outcomes, equity with DIF, exact figures with their protection marks) plus
:func:`rapport.insights.disclosure.protected` (the protected version researchers and
downloads get) for one organisation, median of ``--repeats`` runs after one warm-up,
against the 10 s target.

The database (``rapport_insights_bench`` on 127.0.0.1, user postgres) is created and
migrated if absent (on PostgreSQL the migration ``insights.0002`` adds the triggers that
keep the per-episode summaries the insights read, and backfills them: about 80 s for an
existing 100,000-client clinic) and seeded once with ``rapport synth --clients N --org
bench-N``, then analysed; seeding 100,000 clients takes about 20 minutes, so an existing
organisation is reused.
Keys and the secret key are throwaway values for this database only.

Run (briefly: the machine is shared)::

    .venv/bin/python bench/insights.py                    # 100,000 clients, 3 repeats
    .venv/bin/python bench/insights.py --clients 5000     # a small clinic first
    .venv/bin/python bench/insights.py --check            # exit 1 above the target
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_SECONDS = 10.0
DATABASE = "rapport_insights_bench"
BENCH_ENV = {
    "RAPPORT_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
    "RAPPORT_SECRET_KEY": "insights-bench-only-" + "x" * 40,
    # Fixed, public keys: this database only ever holds synthetic data.
    "RAPPORT_FIELD_KEYS": "aW5zaWdodHMtYmVuY2gtZmllbGQta2V5LTMyYnl0ZXM=",
    "RAPPORT_AUDIT_KEY": "aW5zaWdodHMtYmVuY2gtYXVkaXQta2V5LTMyYnl0ZXM=",
    "DJANGO_SETTINGS_MODULE": "rapport.settings",
}


def ensure_database() -> None:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone()
        if not exists:
            c.execute(f'CREATE DATABASE "{DATABASE}"')


def rapport(*args: str) -> None:
    env = {**os.environ, **BENCH_ENV}
    subprocess.run([str(ROOT / ".venv/bin/rapport"), *args], env=env, check=True)  # noqa: S603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--org", help="organisation slug (default: bench-<clients>)")
    parser.add_argument("--check", action="store_true", help="exit 1 above the target")
    args = parser.parse_args(argv)
    slug = args.org or f"bench-{args.clients}"

    os.environ.update(BENCH_ENV)
    ensure_database()
    rapport("migrate", "-v0")
    import django

    django.setup()
    from django.db import connection

    from rapport.clinic.models import Administration, Organisation
    from rapport.insights import reports
    from rapport.insights.disclosure import protected

    if not Organisation.objects.filter(slug=slug).exists():
        print(f"seeding {args.clients:,} clients into {slug} (once; reused afterwards)")
        rapport(
            "synth", "--seed", "1", "--clients", str(args.clients), "--org", slug,
            "--username-prefix", f"{slug}.",
        )  # fmt: skip
        # Planner statistics, as autovacuum would gather them in any real installation
        # (it is switched off on some development machines).
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    organisation = Organisation.objects.get(slug=slug)
    clients = organisation.clients.count()
    administrations = Administration.objects.filter(
        session__episode__client__organisation=organisation
    ).count()
    print(f"{organisation.slug}: {clients:,} clients, {administrations:,} administrations")

    protected(reports.compute(organisation))  # warm-up: imports, plans, caches
    times, protect_times = [], []
    for _ in range(args.repeats):
        started = time.perf_counter()
        computed = reports.compute(organisation)
        computed_at = time.perf_counter()
        protected(computed)
        protect_times.append(time.perf_counter() - computed_at)
        times.append(time.perf_counter() - started)
    median = statistics.median(times)
    runs = ", ".join(f"{t:.2f}" for t in times)
    verdict = "within" if median <= TARGET_SECONDS else "OVER"
    print(f"all insights: median {median:.2f} s of {args.repeats} ({runs} s)")
    print(f"of which the protected version: median {statistics.median(protect_times):.3f} s")
    print(f"target {TARGET_SECONDS:.0f} s: {verdict}")
    return 1 if args.check and median > TARGET_SECONDS else 0


if __name__ == "__main__":
    sys.exit(main())
