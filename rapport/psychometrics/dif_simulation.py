"""Simulated rating scales with planted DIF, for calibrating and testing :func:`dif`.

The model (ordinal probit, i.e. a normal-ogive graded response model): respondent i has
trait theta_i ~ N(0, 1) in the reference group and N(-impact, 1) in the focal group.
Item j has the latent response

    Y*_ij = lambda_j theta_i + sqrt(1 - lambda_j**2) e_ij - shift_j [i in focal],
    e_ij ~ N(0, 1),

so Y* has SD 1 in the reference group and ``shift_j`` is a **uniform DIF** shift in SD
units of the item's latent response (the same at every trait level).  The answer is
1 + the number of thresholds below Y*, on a 1-7 scale.  Loadings .60-.85 give a
coefficient alpha of about .90, and the thresholds put the mean answer near 5.4 of 7
with a long lower tail, like the answers to Rapport's 8-item trust check-in (mean about
5.5, alpha about .90; ``rapport.synth``).

>>> import numpy as np
>>> from rapport.psychometrics.dif_simulation import simulate_scale
>>> data = simulate_scale(np.random.default_rng(1), 1000, shifts={"q4": 0.5})
>>> data.shape, sorted(data["group"].unique())
((2000, 9), ['A', 'B'])
>>> data.groupby("group")["q4"].mean().round(2).to_dict()
{'A': 5.49, 'B': 4.81}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["FOCAL", "ITEMS", "LOADINGS", "REFERENCE", "THRESHOLDS", "simulate_scale"]

#: Group labels; :func:`dif` takes the first in sorted order as its reference group.
REFERENCE, FOCAL = "A", "B"

ITEMS = tuple(f"q{j}" for j in range(1, 9))
LOADINGS = np.linspace(0.60, 0.85, len(ITEMS))
#: Thresholds on the latent response between answers 1|2, ..., 6|7 (item offsets below).
THRESHOLDS = np.array([-2.4, -1.9, -1.4, -0.9, -0.3, 0.5])
_ITEM_OFFSETS = np.array([0.0, 0.15, -0.1, 0.05, -0.15, 0.1, -0.05, 0.2])


def simulate_scale(
    rng: np.random.Generator,
    n_per_group: int,
    *,
    shifts: Mapping[str, float] | None = None,
    impact: float = 0.0,
) -> pd.DataFrame:
    """Answers 1-7 to eight items by a reference ("A") and a focal group ("B").

    ``n_per_group`` respondents in each group.
    ``shifts``: item -> uniform DIF shift in latent SD units (positive: the focal group
    answers lower at the same trait level); ``impact``: the focal group's mean trait is
    ``impact`` SD lower (a real difference, which is not DIF).
    """
    shifts = dict(shifts or {})
    unknown = set(shifts) - set(ITEMS)
    if unknown:
        raise ValueError(f"shifts: unknown items {sorted(unknown)}; items are {list(ITEMS)}")
    focal = np.repeat([False, True], n_per_group)
    theta = rng.standard_normal(2 * n_per_group) - impact * focal
    noise = rng.standard_normal((2 * n_per_group, len(ITEMS)))
    latent = theta[:, None] * LOADINGS + noise * np.sqrt(1.0 - LOADINGS**2)
    for j, item in enumerate(ITEMS):
        latent[focal, j] -= shifts.get(item, 0.0)
    cuts = THRESHOLDS[None, :] + _ITEM_OFFSETS[:, None]  # items x thresholds
    answers = 1 + (latent[:, :, None] > cuts[None, :, :]).sum(axis=2)
    data = pd.DataFrame(answers, columns=list(ITEMS))
    data["group"] = np.where(focal, FOCAL, REFERENCE)
    return data
