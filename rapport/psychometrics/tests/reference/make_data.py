"""Generate the synthetic input CSVs for the R reference fixtures.

Run from the repository root (deterministic; the CSVs are committed)::

    .venv/bin/python rapport/psychometrics/tests/reference/make_data.py
    Rscript rapport/psychometrics/tests/reference/make_reference.R

All data are synthetic (seeded one-factor models); no real responses are involved.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
SEED = 20240917


def likert_one_factor(
    rng: np.random.Generator,
    n: int,
    loadings: np.ndarray,
    n_categories: int,
) -> np.ndarray:
    """Integer answers 1..n_categories from a one-factor model cut at fixed thresholds."""
    theta = rng.standard_normal(n)
    unique = np.sqrt(1.0 - loadings**2)
    latent = theta[:, None] * loadings[None, :] + rng.standard_normal((n, loadings.size)) * unique
    cuts = np.linspace(-1.6, 1.6, n_categories - 1)
    return 1 + (latent[:, :, None] > cuts[None, None, :]).sum(axis=2)


def add_mcar(rng: np.random.Generator, x: np.ndarray, rate: float) -> np.ndarray:
    """Return a float copy of ``x`` with ``rate`` of the cells missing completely at random."""
    out = x.astype(float)
    out[rng.random(x.shape) < rate] = np.nan
    return out


def write(name: str, values: np.ndarray, columns: list[str]) -> None:
    df = pd.DataFrame(values, columns=columns)
    # Integers stay integers in the file; missing cells are empty ("" -> NA in R).
    df.to_csv(HERE / name, index=False, na_rep="", float_format="%.0f")


def main() -> None:
    rng = np.random.default_rng(SEED)
    items = [f"q{i}" for i in range(1, 9)]

    # 8 items, 1-5 Likert, n = 500, unequal loadings.
    lam = np.array([0.70, 0.65, 0.55, 0.60, 0.45, 0.50, 0.62, 0.40])
    complete = likert_one_factor(rng, 500, lam, 5)
    write("alpha_complete.csv", complete, items)
    # Same answers with ~6% of cells MCAR.
    write("alpha_missing.csv", add_mcar(rng, complete, 0.06), items)

    # 8 items, 1-7 Likert, n = 400; q3 and q7 negatively worded; q5 never uses 1 or 7,
    # so psych's global (min + max) flip differs from a per-item flip.  ~4% MCAR.
    lam_r = np.array([0.72, 0.60, -0.58, 0.55, 0.50, 0.66, -0.48, 0.52])
    rev = likert_one_factor(rng, 400, lam_r, 7).astype(float)
    rev[:, 4] = np.clip(rev[:, 4], 2, 6)
    write("alpha_reverse.csv", add_mcar(rng, rev, 0.04), items)

    # Two variables with r ~ .55, n = 300, a few missing values in each.
    n = 300
    x = rng.standard_normal(n)
    y = 0.55 * x + np.sqrt(1 - 0.55**2) * rng.standard_normal(n)
    trust = np.round(50 + 10 * x, 1)
    alliance = np.round(30 + 5 * y, 1)
    trust[rng.choice(n, 6, replace=False)] = np.nan
    alliance[rng.choice(n, 5, replace=False)] = np.nan
    pd.DataFrame({"trust": trust, "alliance": alliance}).to_csv(
        HERE / "correlation.csv", index=False, na_rep=""
    )


if __name__ == "__main__":
    main()
