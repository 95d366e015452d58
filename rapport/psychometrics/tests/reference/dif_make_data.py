"""Generate the synthetic DIF data set ``dif_items.csv`` (seeded, reproducible).

Run from the repository root::

    .venv/bin/python rapport/psychometrics/tests/reference/dif_make_data.py

Then refresh the R fixture (needs R with MASS; CI never runs R)::

    Rscript rapport/psychometrics/tests/reference/make_dif_reference.R

Design (the *planted truth* that ``test_dif.py`` checks for):

* 1,000 respondents; ``group`` = "A"/"B" (500 each); ``group3`` = "A"/"B"/"C" (a
  three-level grouping: the "B" half is split at random into "B" and "C").
* Latent trait theta ~ N(0, 1) in group A and N(-0.3, 1) in groups B/C (a true
  difference in level, i.e. *impact*, which must NOT be flagged as DIF).
* Eight items ``d1``..``d8`` scored 0-3 from a graded-response (cumulative logit)
  model, P(Y >= k) = logistic(a * (theta - b_k)).
* ``d3``: **uniform DIF**, thresholds shifted by +1.4 in group B (harder for B at
  every level of theta).
* ``d5``: **non-uniform DIF**, discrimination a = 1.5 in group A but -1.0 in group B
  (and C), with the same thresholds: the item is keyed the other way round in B (as a
  mistranslated item can be), so its response curves cross those of group A.
* ``d8``: category 2 is never used (responses 2 are recoded to 3), so the item has an
  empty category that the analysis must collapse.
* All other items are DIF-free.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20240611
N = 1000
OUT = Path(__file__).with_name("dif_items.csv")


def make(seed: int = SEED, n: int = N) -> pd.DataFrame:
    """Return the synthetic data set (see the module docstring for the truth)."""
    rng = np.random.default_rng(seed)
    group = np.repeat(np.array(["A", "B"]), n // 2)
    group3 = group.copy()
    b_rows = np.flatnonzero(group == "B")
    group3[rng.choice(b_rows, size=len(b_rows) // 2, replace=False)] = "C"
    theta = rng.normal(0.0, 1.0, n) - 0.3 * (group != "A")
    is_b = group != "A"
    base_b = np.array([-1.2, 0.0, 1.1])
    slopes = [1.6, 1.3, 1.5, 1.8, 1.4, 1.2, 1.7, 1.5]
    shifts = [0.0, 0.2, -0.3, 0.1, 0.0, -0.2, 0.3, 0.0]
    out: dict[str, np.ndarray] = {}
    for j, (a, s) in enumerate(zip(slopes, shifts, strict=True), start=1):
        b = base_b + s
        a_vec = np.full(n, a)
        b_shift = np.zeros(n)
        if j == 3:  # uniform DIF
            b_shift[is_b] = 1.4
        if j == 5:  # non-uniform DIF
            a_vec = np.where(is_b, -1.0, 1.5)
        p_ge = 1.0 / (
            1.0 + np.exp(-a_vec[:, None] * (theta[:, None] - (b[None, :] + b_shift[:, None])))
        )
        y = (rng.random(n)[:, None] < p_ge).sum(axis=1)
        if j == 8:  # empty category 2
            y = np.where(y == 2, 3, y)
        out[f"d{j}"] = y
    df = pd.DataFrame({"id": np.arange(1, n + 1), "group": group, "group3": group3, **out})
    return df


if __name__ == "__main__":
    make().to_csv(OUT, index=False)
    print(f"wrote {OUT}")
