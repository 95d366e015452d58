"""Caseload bench: server time of the caseload page for 60 clients x 40 sessions on PostgreSQL.

    .venv/bin/python bench/caseload.py                 # 30 timed requests
    .venv/bin/python bench/caseload.py --requests 100  # more
    .venv/bin/python bench/caseload.py --reseed        # drop and rebuild the bench database

What it does, on loopback only:

1. Creates the database ``rapport_caseload_bench`` on 127.0.0.1 (user postgres; ``--pg``
   to change) if it is absent, migrates it and, once, seeds a clinic: one therapist with
   60 active clients x 40 weekly sessions (rapport.workspace.sample: trust, alliance and
   PHQ-9 at every session, GAD-7 every fourth, every kind of flag story), plus 150
   completed episodes of another therapist, on which the clinic's expected-treatment-
   response model is fitted (so the not-on-track rule runs, as in a real clinic).
2. Signs the therapist in (password + TOTP device, i.e. the full MFA state) with Django's
   test client against the real settings and the full middleware stack, warms up, then
   times ``--requests`` GETs of ``/`` (the caseload) end to end in the server process:
   middleware, queries, flag rules, template. No network or browser time.
3. Prints the number of queries, median, p95 and the ratio of the median to the 150 ms
   target. Keys and the secret key live in ``var/bench-caseload`` (synthetic data only).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_MS = 150.0
ORG_SLUG = "caseload-bench"
THERAPIST = "bench-therapist"


def prepare_environment(pg: str, database: str) -> None:
    sys.path.insert(0, str(REPO))
    data_dir = REPO / "var" / "bench-caseload"
    os.environ["RAPPORT_DATA_DIR"] = str(data_dir)
    os.environ["RAPPORT_DATABASE_URL"] = f"{pg.rstrip('/')}/{database}"
    os.environ["RAPPORT_ALLOWED_HOSTS"] = "testserver,127.0.0.1"
    # The test client speaks plain HTTP; production settings would redirect it to HTTPS.
    os.environ["RAPPORT_INSECURE_COOKIES"] = "1"
    os.environ["DJANGO_SETTINGS_MODULE"] = "rapport.settings"
    for name in ("RAPPORT_SECRET_KEY", "RAPPORT_FIELD_KEYS", "RAPPORT_AUDIT_KEY"):
        os.environ.pop(name, None)  # use the bench's own key files, never the caller's
    from rapport.cli import ensure_demo_encryption_keys, ensure_demo_secret_key

    ensure_demo_secret_key()
    ensure_demo_encryption_keys()


def ensure_database(pg: str, database: str, *, reseed: bool) -> None:
    import psycopg

    with psycopg.connect(f"{pg.rstrip('/')}/postgres", autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [database]
        ).fetchone()
        if exists and reseed:
            connection.execute(f'DROP DATABASE "{database}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{database}"')


def seed() -> None:
    import datetime

    from django.db import transaction
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from rapport.accounts.models import Role, User
    from rapport.clinic.models import EndReason, Episode, EpisodeStatus, Organisation
    from rapport.core.instruments import instruments
    from rapport.insights.etr import fit
    from rapport.testing import PASSWORD, make_organisation
    from rapport.workspace.sample import seed_caseload

    if Organisation.objects.filter(slug=ORG_SLUG).exists():
        return
    started = time.perf_counter()
    registry = instruments()
    with transaction.atomic():
        organisation = make_organisation(ORG_SLUG)
        supervisor = User.objects.create_user(
            "bench-supervisor", password=PASSWORD, organisation=organisation, role=Role.SUPERVISOR
        )
        therapist = User.objects.create_user(
            THERAPIST,
            password=PASSWORD,
            organisation=organisation,
            role=Role.THERAPIST,
            supervisor=supervisor,
        )
        TOTPDevice.objects.create(user=therapist, name="bench", confirmed=True)
        seed_caseload(therapist, registry, n_clients=60, n_sessions=40, prefix="B")
        # Completed episodes of a colleague: what the expected-response model learns from.
        colleague = User.objects.create_user(
            "bench-colleague", password=PASSWORD, organisation=organisation, role=Role.THERAPIST
        )
        history = seed_caseload(
            colleague,
            registry,
            n_clients=150,
            n_sessions=14,
            prefix="H",
            seed=11,
            now=timezone.now() - datetime.timedelta(weeks=60),
        )
        for episode in history:
            episode.status = EpisodeStatus.CLOSED
            episode.end_reason = EndReason.COMPLETED
            episode.ended_on = episode.started_on + datetime.timedelta(weeks=14)
        Episode.objects.bulk_update(history, ["status", "end_reason", "ended_on"])
        fit(organisation, registry["phq9"])
    print(f"seeded {ORG_SLUG} in {time.perf_counter() - started:.1f} s")


def measure(requests: int) -> dict[str, float]:
    from django.db import connection
    from django.test import Client

    from rapport.accounts.models import User
    from rapport.testing import login_verified

    therapist = User.objects.get(username=THERAPIST)
    client = Client()
    login_verified(client, therapist)
    for _ in range(3):  # warm the registry, templates and connection
        assert client.get("/").status_code == 200
    queries: list[str] = []

    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        page = client.get("/")
    rows = page.content.decode().count('<tr class="urgency-')
    timings = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get("/")
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    timings.sort()
    return {
        "rows": rows,
        "queries": len(queries),
        "median_ms": statistics.median(timings),
        "p95_ms": timings[max(0, round(0.95 * len(timings)) - 1)],
        "min_ms": timings[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="rapport_caseload_bench")
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args(argv)
    prepare_environment(args.pg, args.database)
    ensure_database(args.pg, args.database, reseed=args.reseed)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)  # the manifest pages use
    seed()
    result = measure(args.requests)
    print(
        f"caseload: {result['rows']} clients x 40 sessions, {result['queries']} queries per "
        f"request, {args.requests} requests"
    )
    print(
        f"server time: median {result['median_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
        f"min {result['min_ms']:.1f} ms; median / {TARGET_MS:.0f} ms target = "
        f"{result['median_ms'] / TARGET_MS:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
