"""Benchmark: the full reliability report against pingouin's alpha-only function.

Times :func:`rapport.psychometrics.reliability` (alpha, std. alpha, Feldt and
Duhachek intervals and every item statistic) on 1,000,000 respondents x 8 items
(integers 1-7 from a seeded one-factor model, ~5% of answers missing at random)
against ``pingouin.cronbach_alpha`` (alpha + Feldt CI only) on the same DataFrame
in the same process.  Reports the median of ``--repeats`` runs of each (after one
warm-up; the runs alternate between the two), and their ratio; the target is a ratio <= 2.5.

Run (briefly: the machine is shared)::

    .venv/bin/python bench/psychometrics.py            # 1e6 x 8, 5 repeats
    .venv/bin/python bench/psychometrics.py --check    # exit 1 if ratio > 2.5

BLAS note: some CPUs need ``OPENBLAS_CORETYPE`` set in the environment; the
benchmark reports it but never changes it.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rapport.psychometrics import reliability

TARGET_RATIO = 2.5


def make_answers(n: int, k: int = 8, missing: float = 0.05, seed: int = 2024) -> pd.DataFrame:
    """Integers 1..7 from a one-factor model (loadings .5-.8), MCAR missing cells."""
    rng = np.random.default_rng(seed)
    loadings = np.linspace(0.5, 0.8, k)
    theta = rng.standard_normal(n)
    latent = theta[:, None] * loadings + rng.standard_normal((n, k)) * np.sqrt(1 - loadings**2)
    answers = np.clip(np.rint(4 + 1.5 * latent), 1, 7)
    answers[rng.random((n, k)) < missing] = np.nan
    return pd.DataFrame(answers, columns=[f"q{i + 1}" for i in range(k)])


def interleaved_times(
    fns: list[Callable[[], object]], repeats: int
) -> list[tuple[float, list[float]]]:
    """Median and all times per function; runs alternate so that load drifts hit all alike."""
    for fn in fns:
        fn()  # warm-up
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, bucket in zip(fns, times, strict=True):
            start = time.perf_counter()
            fn()
            bucket.append(time.perf_counter() - start)
    return [(statistics.median(t), t) for t in times]


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_name() -> str:
    try:
        config = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
    except Exception:  # informational only
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--check", action="store_true", help=f"exit 1 if ratio > {TARGET_RATIO}")
    args = parser.parse_args(argv)

    import pingouin

    data = make_answers(args.rows, args.items)
    print(f"data: {args.rows:,} x {args.items}, {data.isna().to_numpy().mean():.1%} missing")
    print(f"cpu: {cpu_name()} ({os.cpu_count()} logical cores); BLAS: {blas_name()}")
    print(f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(not set)')}")
    print(f"numpy {np.__version__}, pandas {pd.__version__}, pingouin {pingouin.__version__}")

    ours = reliability(data)
    theirs, _ = pingouin.cronbach_alpha(data)
    if abs(ours.alpha - theirs) > 1e-10:
        print(f"alpha differs: {ours.alpha!r} vs pingouin {theirs!r}", file=sys.stderr)
        return 1

    (t_ping, all_ping), (t_ours, all_ours) = interleaved_times(
        [lambda: pingouin.cronbach_alpha(data), lambda: reliability(data)], args.repeats
    )
    ratio = t_ours / t_ping
    print(f"alpha = {ours.alpha:.12f} (both)")
    print(f"pingouin.cronbach_alpha (alpha + Feldt):  median {t_ping * 1e3:8.1f} ms  "
          f"runs {[round(t * 1e3, 1) for t in all_ping]}")  # fmt: skip
    print(f"rapport reliability (full item report):  median {t_ours * 1e3:8.1f} ms  "
          f"runs {[round(t * 1e3, 1) for t in all_ours]}")  # fmt: skip
    print(f"ratio = {ratio:.2f} (target <= {TARGET_RATIO})")
    if args.check and ratio > TARGET_RATIO:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
