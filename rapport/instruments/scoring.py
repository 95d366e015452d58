"""Vectorised scoring: one code path for a single answer set and for millions.

:func:`score_matrix` works on an ``(administrations x items)`` float array with
NaN for missing answers. :meth:`Instrument.score` passes a one-row array, so
single and bulk scoring cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rapport.instruments.answers import check_matrix
from rapport.instruments.errors import AnswerError

if TYPE_CHECKING:
    import pandas as pd

    from rapport.instruments.model import Instrument, ScoreResult

# Guards half-up rounding against binary representation error (5.125 stored as 5.12499...).
_ROUNDING_EPSILON = 1e-9


@dataclass(frozen=True)
class MatrixScores:
    """Scores of many administrations; NaN where a score is withheld."""

    totals: np.ndarray
    subscales: dict[str, np.ndarray]
    band_index: np.ndarray
    flags: dict[str, np.ndarray]
    answered: np.ndarray


def round_half_up(values: np.ndarray, decimals: int) -> np.ndarray:
    """Round halves upwards (2.5 -> 3; 4.125 -> 4.13 at 2 decimals), as scored by hand.

    NumPy's own rounding sends halves to the even neighbour (2.5 -> 2), which
    would move prorated totals across band boundaries unpredictably.
    """
    scale = 10.0**decimals
    return np.floor(values * scale + 0.5 + _ROUNDING_EPSILON) / scale


def total_range(instrument: Instrument, item_ids: Sequence[str]) -> tuple[float, float]:
    """Return the lowest and highest possible score over ``item_ids``."""
    items = [instrument.item(item_id) for item_id in item_ids]
    lows = np.array([[item.min_value for item in items]], dtype=float)
    highs = np.array([[item.max_value for item in items]], dtype=float)
    answered = np.ones_like(lows, dtype=bool)
    low = _aggregate(instrument, lows, answered, max_missing=0)[0]
    high = _aggregate(instrument, highs, answered, max_missing=0)[0]
    return float(low), float(high)


def score_matrix(instrument: Instrument, values: np.ndarray) -> MatrixScores:
    """Score an ``(n, items)`` array of raw answers (NaN = missing) that passed validation.

    Returns
    -------
    MatrixScores
        ``totals`` and each subscale as float arrays (NaN when withheld),
        ``band_index`` (-1 when no band applies), one boolean array per flag,
        and the ``answered`` mask.
    """
    answered = ~np.isnan(values)
    keyed = _reverse_keyed(instrument, values)
    totals = _aggregate(instrument, keyed, answered, instrument.missing_rule.max_missing)
    subscales: dict[str, np.ndarray] = {}
    for subscale in instrument.subscales:
        columns = [instrument.item_ids.index(item_id) for item_id in subscale.item_ids]
        subscales[subscale.id] = _aggregate(
            instrument, keyed[:, columns], answered[:, columns], subscale.max_missing
        )
    flags: dict[str, np.ndarray] = {}
    with np.errstate(invalid="ignore"):
        for critical in instrument.critical_items:
            column = values[:, instrument.item_ids.index(critical.item_id)]
            hit = critical.matches(column) & ~np.isnan(column)
            flags[critical.flag] = flags.get(critical.flag, False) | hit
    return MatrixScores(totals, subscales, _band_index(instrument, totals), flags, answered)


def score_one(instrument: Instrument, row: np.ndarray) -> ScoreResult:
    """Score one validated answer row and package it as a :class:`ScoreResult`."""
    # Imported here because the model module imports this one.
    from rapport.instruments.model import ScoreResult

    scores = score_matrix(instrument, row.reshape(1, -1))
    band_index = int(scores.band_index[0])
    return ScoreResult(
        instrument=instrument.id,
        version=instrument.version,
        total=_optional(scores.totals[0]),
        subscales={name: _optional(values[0]) for name, values in scores.subscales.items()},
        band=instrument.bands[band_index].label if band_index >= 0 else None,
        flags=[flag for flag, hits in scores.flags.items() if hits[0]],
        missing=[
            item_id
            for item_id, answered in zip(instrument.item_ids, scores.answered[0], strict=True)
            if not answered
        ],
        answered=int(scores.answered[0].sum()),
    )


def score_frame(instrument: Instrument, frame: pd.DataFrame) -> pd.DataFrame:
    """Score every row of ``frame`` (item-id columns) without a Python loop over rows."""
    import pandas as pd

    absent = [item_id for item_id in instrument.item_ids if item_id not in frame.columns]
    if absent:
        raise AnswerError(f"{instrument.id}: missing item column(s) {', '.join(absent)}")
    try:
        values = frame.loc[:, list(instrument.item_ids)].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise AnswerError(f"{instrument.id}: item columns must hold numbers: {exc}") from None
    check_matrix(instrument, values)
    scores = score_matrix(instrument, values)
    columns: dict[str, object] = {"total": scores.totals}
    for name, subscale_values in scores.subscales.items():
        columns[f"subscale_{name}"] = subscale_values
    columns["band"] = pd.Categorical.from_codes(
        scores.band_index,
        categories=pd.Index([band.label for band in instrument.bands], dtype=object),
        ordered=True,
    )
    columns["n_answered"] = scores.answered.sum(axis=1)
    columns["n_missing"] = (~scores.answered).sum(axis=1)
    for flag, hits in scores.flags.items():
        columns[flag.replace(":", "_")] = hits
    return pd.DataFrame(columns, index=frame.index)


def _reverse_keyed(instrument: Instrument, values: np.ndarray) -> np.ndarray:
    keyed = values.copy()
    for position, item in enumerate(instrument.items):
        if item.reverse:
            keyed[:, position] = item.min_value + item.max_value - values[:, position]
    return keyed


def _aggregate(
    instrument: Instrument, keyed: np.ndarray, answered: np.ndarray, max_missing: int
) -> np.ndarray:
    n_items = keyed.shape[1]
    n_answered = answered.sum(axis=1)
    sums = np.where(answered, keyed, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / n_answered
    if instrument.scoring == "sum":
        # A complete answer set keeps its exact sum; only gaps are prorated.
        raw = np.where(n_answered == n_items, sums, means * n_items)
    elif instrument.scoring == "mean":
        raw = means
    else:
        raw = means * instrument.scale_factor
    scorable = (n_answered > 0) & (n_items - n_answered <= max_missing)
    return np.where(scorable, round_half_up(raw, instrument.decimals), np.nan)


def _band_index(instrument: Instrument, totals: np.ndarray) -> np.ndarray:
    if not instrument.bands:
        return np.full(totals.shape, -1, dtype=int)
    lowers = np.array([band.lower for band in instrument.bands])
    uppers = np.array([band.upper for band in instrument.bands])
    index = np.searchsorted(lowers, totals, side="right") - 1
    safe_index = np.clip(index, 0, len(instrument.bands) - 1)
    inside = (index >= 0) & ~np.isnan(totals) & (totals <= uppers[safe_index])
    return np.where(inside, index, -1)


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
