"""Scoring: vectorised for many administrations, plain Python for one.

:func:`score_matrix` works on an ``(administrations x items)`` float array with NaN for
missing answers (imports, the synthetic clinic, :meth:`Instrument.score_frame`).
:func:`score_one` applies the same rules to a single answer set, which is what a check-in
submits, without NumPy's per-call cost. Both read the instrument's :class:`Layout`, and
tests hold them equal on random and exhaustive answer patterns (``test_score_frame``,
``test_scoring_methods``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rapport.instruments.answers import check_matrix
from rapport.instruments.errors import AnswerError

if TYPE_CHECKING:
    import pandas as pd

    from rapport.instruments.model import CriticalItem, Instrument, ScoreResult

# Guards half-up rounding against binary representation error (5.125 stored as 5.12499...).
_ROUNDING_EPSILON = 1e-9


@dataclass(frozen=True)
class Layout:
    """Where each part of an instrument's scoring rules finds its columns, worked out once.

    Scoring one administration (every check-in) would otherwise spend most of its time
    looking up item positions and building the same small arrays again.
    """

    item_positions: dict[str, int]
    # Per item: min + max if reverse keyed, else None.
    reverse_sum_by_item: tuple[float | None, ...]
    # The scales scored, the total first, then each subscale: item positions, number of
    # items, missing items allowed.
    scales: tuple[tuple[tuple[int, ...], int, int], ...]
    subscale_ids: tuple[str, ...]
    critical_columns: tuple[tuple[CriticalItem, int], ...]
    scored_positions: tuple[int, ...]  # the items that count towards any score
    offered: tuple[frozenset[float], ...]  # the option values of each item, as floats
    # The same as arrays, for score_matrix. Column j of ``scale_items`` is 1 for the
    # items of scale j, so one matrix product sums every scale at once.
    reverse_columns: np.ndarray
    reverse_sums: np.ndarray
    scale_items: np.ndarray  # (items, scales) of 0.0 / 1.0
    scale_sizes: np.ndarray
    scale_max_missing: np.ndarray
    band_lowers: np.ndarray
    band_uppers: np.ndarray

    @classmethod
    def of(cls, instrument: Instrument) -> Layout:
        positions = {item.id: position for position, item in enumerate(instrument.items)}
        scored = tuple(positions[item_id] for item_id in instrument.scored_item_ids)
        reverse_sum_by_item = tuple(
            float(item.min_value + item.max_value) if item.reverse else None
            for item in instrument.items
        )
        scales = (
            (scored, len(scored), instrument.missing_rule.max_missing),
            *(
                (
                    tuple(positions[item_id] for item_id in subscale.item_ids),
                    len(subscale.item_ids),
                    subscale.max_missing,
                )
                for subscale in instrument.subscales
            ),
        )
        scale_items = np.zeros((len(positions), len(scales)))
        for column, (members, _, _) in enumerate(scales):
            scale_items[list(members), column] = 1.0
        reversed_items = [p for p, total in enumerate(reverse_sum_by_item) if total is not None]
        return cls(
            item_positions=positions,
            reverse_sum_by_item=reverse_sum_by_item,
            scales=scales,
            subscale_ids=tuple(subscale.id for subscale in instrument.subscales),
            critical_columns=tuple(
                (critical, positions[critical.item_id]) for critical in instrument.critical_items
            ),
            scored_positions=scored,
            offered=tuple(
                frozenset(float(value) for value in item.option_values) for item in instrument.items
            ),
            reverse_columns=np.array(reversed_items, dtype=int),
            reverse_sums=np.array([reverse_sum_by_item[p] for p in reversed_items], dtype=float),
            scale_items=scale_items,
            scale_sizes=np.array([size for _, size, _ in scales], dtype=float),
            scale_max_missing=np.array([allowed for _, _, allowed in scales], dtype=float),
            band_lowers=np.array([band.lower for band in instrument.bands], dtype=float),
            band_uppers=np.array([band.upper for band in instrument.bands], dtype=float),
        )


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
    # Every item answered with its lowest option, then with its highest.
    lowest = sum(item.min_value for item in items)
    highest = sum(item.max_value for item in items)
    sums = np.array([[lowest, highest]], dtype=float)
    size = np.full(sums.shape, float(len(items)))
    low, high = _scale_scores(instrument, sums, size, size, np.zeros(sums.shape))[0]
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
    layout = instrument.scoring_layout
    answered = ~np.isnan(values)
    keyed = np.where(answered, _reverse_keyed(layout, values), 0.0)
    scores = _scale_scores(
        instrument,
        keyed @ layout.scale_items,
        answered @ layout.scale_items,
        layout.scale_sizes,
        layout.scale_max_missing,
    )
    totals = scores[:, 0]
    subscales = {
        subscale_id: scores[:, column]
        for column, subscale_id in enumerate(layout.subscale_ids, start=1)
    }
    flags: dict[str, np.ndarray] = {}
    for critical, position in layout.critical_columns:
        column = values[:, position]
        # NaN (missing) never meets a condition: comparisons with NaN are False.
        with np.errstate(invalid="ignore"):
            hit = critical.matches(column) & answered[:, position]
        flags[critical.flag] = flags.get(critical.flag, False) | hit
        if critical.flag_if_missing:
            flags[critical.missing_flag] = ~answered[:, position]
    return MatrixScores(totals, subscales, _band_index(layout, totals), flags, answered)


def score_one(instrument: Instrument, values: Sequence[float | None]) -> ScoreResult:
    """Score one validated answer set (floats in item order, ``None`` for missing).

    The rules of :func:`score_matrix`, applied in plain Python: a check-in scores a few
    single answer sets per request, and NumPy's fixed cost per call on one-row arrays
    made scoring the largest part of a submission's CPU time. ``test_score_frame`` holds
    the two equal on random answer sets, gaps included, for every instrument.
    """
    # Imported here because the model module imports this one.
    from rapport.instruments.model import ScoreResult

    layout = instrument.scoring_layout
    keyed = [
        value if value is None or reverse_sum is None else reverse_sum - value
        for value, reverse_sum in zip(values, layout.reverse_sum_by_item, strict=True)
    ]
    scores = [
        _one_scale_score(
            instrument,
            [value for p in positions if (value := keyed[p]) is not None],
            size,
            max_missing,
        )
        for positions, size, max_missing in layout.scales
    ]
    total = scores[0]
    band = instrument.band_for(total)
    return ScoreResult(
        instrument=instrument.id,
        version=instrument.version,
        total=total,
        subscales=dict(zip(layout.subscale_ids, scores[1:], strict=True)),
        band=band.label if band is not None else None,
        flags=_raised_flags(layout, values),
        missing=[instrument.item_ids[p] for p in layout.scored_positions if values[p] is None],
        answered=sum(values[p] is not None for p in layout.scored_positions),
    )


def _raised_flags(layout: Layout, values: Sequence[float | None]) -> list[str]:
    """The critical flags met by the raw answers, then those of risk items left unanswered."""
    raised = [
        critical.flag
        for critical, position in layout.critical_columns
        if values[position] is not None and critical.matches(values[position])
    ]
    raised += [
        critical.missing_flag
        for critical, position in layout.critical_columns
        if critical.flag_if_missing and values[position] is None
    ]
    return list(dict.fromkeys(raised))


def _one_scale_score(
    instrument: Instrument, answered: list[float], size: int, max_missing: int
) -> float | None:
    """:func:`_scale_scores` for one scale of one administration."""
    if not answered or size - len(answered) > max_missing:
        return None
    total = sum(answered)
    mean = total / len(answered)
    if instrument.scoring == "sum":
        raw = total if len(answered) == size else mean * size
    elif instrument.scoring == "mean":
        raw = mean
    elif instrument.scale_factor is not None:
        raw = mean * instrument.scale_factor
    else:
        raise ValueError(f"{instrument.id}: scaled scoring needs a scale_factor")
    scale = 10.0**instrument.decimals
    return math.floor(raw * scale + 0.5 + _ROUNDING_EPSILON) / scale


def score_frame(instrument: Instrument, frame: pd.DataFrame) -> pd.DataFrame:
    """Score every row of ``frame`` (item-id columns) without a Python loop over rows."""
    import pandas as pd

    absent = [item_id for item_id in instrument.scored_item_ids if item_id not in frame.columns]
    if absent:
        raise AnswerError(f"{instrument.id}: missing item column(s) {', '.join(absent)}")
    # An unscored item's column may be left out (frames made for the scored items only).
    present = frame.reindex(columns=list(instrument.item_ids))
    try:
        values = present.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:
        raise AnswerError(f"{instrument.id}: item columns must hold numbers: {exc}") from None
    check_matrix(instrument, values)
    scores = score_matrix(instrument, values)
    scored_answered = scores.answered[:, list(instrument.scoring_layout.scored_positions)]
    n_missing = (~scored_answered).sum(axis=1)
    columns: dict[str, object] = {
        "total": scores.totals,
        "estimated": ~np.isnan(scores.totals) & (n_missing > 0),
    }
    for name, subscale_values in scores.subscales.items():
        columns[f"subscale_{name}"] = subscale_values
    columns["band"] = pd.Categorical.from_codes(
        scores.band_index,
        categories=pd.Index([band.label for band in instrument.bands], dtype=object),
        ordered=True,
    )
    columns["n_answered"] = scored_answered.sum(axis=1)
    columns["n_missing"] = n_missing
    for flag, hits in scores.flags.items():
        columns[flag.replace(":", "_")] = hits
    return pd.DataFrame(columns, index=frame.index)


def _reverse_keyed(layout: Layout, values: np.ndarray) -> np.ndarray:
    keyed = values.copy()
    if layout.reverse_columns.size:
        keyed[:, layout.reverse_columns] = layout.reverse_sums - values[:, layout.reverse_columns]
    return keyed


def _scale_scores(
    instrument: Instrument,
    sums: np.ndarray,
    n_answered: np.ndarray,
    n_items: np.ndarray,
    max_missing: np.ndarray,
) -> np.ndarray:
    """Scores from each scale's sum of keyed answers and count of answered items.

    All arguments broadcast to ``(administrations, scales)``; NaN where a score is withheld.
    """
    # The mean of no answers is NaN (and never used: such rows are not scorable).
    means = np.divide(sums, n_answered, out=np.full(sums.shape, np.nan), where=n_answered > 0)
    if instrument.scoring == "sum":
        # A complete answer set keeps its exact sum; only gaps are prorated.
        raw = np.where(n_answered == n_items, sums, means * n_items)
    elif instrument.scoring == "mean":
        raw = means
    else:
        raw = means * instrument.scale_factor
    scorable = (n_answered > 0) & (n_items - n_answered <= max_missing)
    return np.where(scorable, round_half_up(raw, instrument.decimals), np.nan)


def _band_index(layout: Layout, totals: np.ndarray) -> np.ndarray:
    if not layout.band_lowers.size:
        return np.full(totals.shape, -1, dtype=int)
    index = np.searchsorted(layout.band_lowers, totals, side="right") - 1
    safe_index = np.clip(index, 0, layout.band_lowers.size - 1)
    inside = (index >= 0) & ~np.isnan(totals) & (totals <= layout.band_uppers[safe_index])
    return np.where(inside, index, -1)


def _optional(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
