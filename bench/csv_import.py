"""Benchmark: CSV import of 100,000 rows in a bounded memory footprint.

Creates a throw-away SQLite database in a temporary folder (never the real one), an
organisation with one therapist and ``rows / 20`` clients, writes a CSV of ``--rows``
administrations (each client: 10 sessions x PHQ-9 + GAD-7), then times the dry run
(validation pass) and the real import (validation + one-transaction write), and reports:

* wall time of each pass and rows per second;
* the process's peak RSS (``resource.getrusage``) and, with ``--heap``, the peak Python
  heap during the import (tracemalloc), with the file size for comparison.

Memory is bounded by the batch size (1,000 rows) plus 16 bytes of fingerprint per row
and per session for the duplicate checks, not by the file. Run briefly (shared machine)::

    .venv/bin/python bench/csv_import.py                 # 100,000 rows
    .venv/bin/python bench/csv_import.py --rows 20000    # quicker
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SESSIONS_PER_CLIENT = 10
INSTRUMENTS = {"phq9": 9, "gad7": 7}


def write_file(path: Path, rows: int, therapist: str) -> int:
    """Write ``rows`` rows (rounded up to whole clients); return the number of clients."""
    per_client = SESSIONS_PER_CLIENT * len(INSTRUMENTS)
    clients = -(-rows // per_client)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["record_number", "therapist", "episode_start", "session_number", "session_date",
             "instrument", "answers"]
        )  # fmt: skip
        written = 0
        for client in range(clients):
            for session in range(1, SESSIONS_PER_CLIENT + 1):
                day = f"2024-{1 + session // 4:02d}-{1 + (session * 7) % 28:02d}"
                for instrument, items in INSTRUMENTS.items():
                    if written == rows:
                        return clients
                    answers = ",".join(str((client + session + i) % 4) for i in range(items))
                    writer.writerow(
                        [f"B{client:07d}", therapist, "2024-01-01", session, day, instrument,
                         answers]
                    )  # fmt: skip
                    written += 1
    return clients


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--heap", action="store_true", help="also trace the Python heap (slows the import ~2x)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rapport-bench-"))
    os.environ.update(
        RAPPORT_DATA_DIR=str(folder),
        RAPPORT_DATABASE_URL=f"sqlite:///{folder / 'bench.sqlite3'}",
        DJANGO_SETTINGS_MODULE="rapport.settings_for_tests",
    )
    import django

    django.setup()
    from django.core.management import call_command

    from rapport.accounts.models import Role
    from rapport.clinic.models import Administration, Client
    from rapport.instruments import load_registry
    from rapport.interop.csv_import import CsvImport
    from rapport.testing import make_organisation, make_user

    call_command("migrate", verbosity=0)
    organisation = make_organisation("bench")
    therapist = make_user(organisation, Role.THERAPIST, username="bench.therapist")
    path = folder / "results.csv"
    clients = write_file(path, args.rows, therapist.username)
    Client.objects.bulk_create(
        Client(organisation=organisation, record_number=f"B{n:07d}") for n in range(clients)
    )
    registry = load_registry()

    start = time.perf_counter()
    problems = sum(1 for _ in CsvImport(path, organisation, registry).problems())
    dry = time.perf_counter() - start
    if problems:
        print(f"unexpected: {problems} problems", file=sys.stderr)
        return 1

    if args.heap:
        tracemalloc.start()
    start = time.perf_counter()
    result = CsvImport(path, organisation, registry).run()
    real = time.perf_counter() - start
    heap_peak = tracemalloc.get_traced_memory()[1] if args.heap else None
    tracemalloc.stop()
    rss_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    stored = Administration.objects.count()
    size_mb = path.stat().st_size / 2**20
    print(f"rows: {args.rows:,}  clients: {clients:,}  file: {size_mb:.1f} MiB")
    print(f"dry run (validate):     {dry:6.1f} s  ({args.rows / dry:,.0f} rows/s)")
    print(f"import (validate+write): {real:6.1f} s  ({args.rows / real:,.0f} rows/s)")
    print(f"administrations stored: {stored:,} (created {result.created:,})")
    if heap_peak is not None:
        print(f"peak Python heap during import (tracemalloc): {heap_peak / 2**20:.1f} MiB")
    print(f"peak process RSS (whole run, incl. Django, NumPy): {rss_peak_mb:.0f} MiB")
    return 0 if stored == args.rows else 1


if __name__ == "__main__":
    sys.exit(main())
