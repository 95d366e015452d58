"""The in-memory model of an instrument: items, options, subscales, bands and rules.

Everything here is an immutable value built by :mod:`rapport.instruments.loader`.
Scores never depend on the display language: texts are per-language dicts,
option *values* are shared by every language.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rapport.instruments import answers, scoring

if TYPE_CHECKING:
    import pandas as pd

    # The class attribute `Instrument.scoring` shadows the module inside the class body.
    from rapport.instruments.scoring import Layout

Number = int | float
Text = dict[str, str]

CONSTRUCTS = ("trust", "alliance", "openness", "outcome")
# Questionnaires about the therapy relationship rather than symptoms: who reads their
# answers, and who is told of a critical one, differ (rapport.security.access).
RELATIONSHIP_CONSTRUCTS = frozenset({"trust", "alliance", "openness"})
SCORING_METHODS = ("sum", "mean", "scaled")
AUDIENCES = ("therapist", "supervisors")
OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}

CRITICAL_FLAG_PREFIX = "critical:"
UNANSWERED_FLAG_PREFIX = "unanswered:"

# Jacobson & Truax (1991): a change is reliable at p < .05 when it exceeds
# 1.96 standard errors of the difference between two scores.
RELIABLE_CHANGE_Z = 1.96


@dataclass(frozen=True)
class ResponseOption:
    """One answer an item offers: the scored value, its label per language and,
    where LOINC defines one, its LOINC answer code (``LA...``)."""

    value: Number
    label: Text
    loinc: str | None = None


@dataclass(frozen=True)
class Item:
    """One question. ``reverse`` items are scored as ``min + max - value``.

    An item with ``scored`` false (the PHQ-9's "how difficult" question) is asked and
    stored but counts towards no score: not the total, its prorating or any subscale.
    """

    id: str
    text: Text
    options: tuple[ResponseOption, ...]
    reverse: bool = False
    loinc: str | None = None
    skippable: bool = False
    scored: bool = True

    @cached_property
    def option_values(self) -> tuple[Number, ...]:
        """The scored values a respondent may choose, in display order."""
        return tuple(option.value for option in self.options)

    @cached_property
    def is_rating_scale(self) -> bool:
        """Whether the options are the numbered points of a rating scale (0-10 and the like).

        True for at least five evenly spaced points, each labelled by its own number except
        the two ends, which may carry words (the anchors), as ``scale:`` in a definition
        writes them. Forms show such an item as one row of numbers with the anchors at its
        ends; an item whose options are words (the PHQ-9's "Several days") stays a list.
        """
        values = self.option_values
        if len(values) < 5:
            return False
        step = values[1] - values[0]
        evenly_spaced = step > 0 and all(
            math.isclose(later - earlier, step) for earlier, later in pairwise(values)
        )
        inner_points_numbered = all(
            set(option.label.values()) == {f"{option.value:g}"} for option in self.options[1:-1]
        )
        return evenly_spaced and inner_points_numbered

    @property
    def min_value(self) -> Number:
        """The lowest option value."""
        return min(self.option_values)

    @property
    def max_value(self) -> Number:
        """The highest option value."""
        return max(self.option_values)


@dataclass(frozen=True)
class Subscale:
    """A named group of items scored with the instrument's method."""

    id: str
    title: Text
    item_ids: tuple[str, ...]
    max_missing: int = 0


@dataclass(frozen=True)
class Band:
    """A labelled score range; both bounds are inclusive on the instrument's rounding grid."""

    label: str
    lower: float
    upper: float
    text: Text = field(default_factory=dict)

    def contains(self, total: float) -> bool:
        """Return whether ``total`` lies within this band."""
        return self.lower <= total <= self.upper


@dataclass(frozen=True)
class CriticalItem:
    """A condition on one raw (not reverse-keyed) answer that raises a flag whatever the total."""

    item_id: str
    operator: str
    value: Number
    # Raise :attr:`missing_flag` when the item is not answered: a risk question left blank
    # (an import, the API) must not look like a clean answer.
    flag_if_missing: bool = False

    @property
    def flag(self) -> str:
        """The flag text reported in :attr:`ScoreResult.flags`, e.g. ``critical:phq9_9``."""
        return f"{CRITICAL_FLAG_PREFIX}{self.item_id}"

    @property
    def missing_flag(self) -> str:
        """The flag raised when the item is unanswered, e.g. ``unanswered:phq9_9``."""
        return f"{UNANSWERED_FLAG_PREFIX}{self.item_id}"

    def matches(self, answers: Any) -> Any:
        """Return whether raw answers meet the condition (a bool, or a bool array for arrays)."""
        return OPERATORS[self.operator](answers, self.value)


@dataclass(frozen=True)
class MissingRule:
    """How many items may be missing before the total is withheld.

    With ``sum`` scoring the answered items are prorated (mean of the answered
    items times the number of items); ``mean`` and ``scaled`` scoring use the
    mean of the answered items, which prorates by construction.
    """

    max_missing: int = 0
    prorate: bool = False


@dataclass(frozen=True)
class Reference:
    """Published psychometric reference values, where known."""

    alpha: float | None = None
    sd: float | None = None
    mean: float | None = None
    n: int | None = None
    source: str | None = None


def reliable_change_from(reliability: float, sd: float) -> float:
    """Return the Jacobson-Truax reliable-change threshold in score points.

    Parameters
    ----------
    reliability : float
        Reliability of the score (Cronbach's alpha or test-retest), in (0, 1).
    sd : float
        Standard deviation of the score in a reference sample.

    Returns
    -------
    float
        ``1.96 * sd * sqrt(2 * (1 - reliability))``: the smallest change that is
        unlikely (p < .05) to be measurement error alone.

    Examples
    --------
    >>> round(reliable_change_from(0.84, 5.0), 2)
    5.54
    """
    standard_error = sd * math.sqrt(1.0 - reliability)
    return RELIABLE_CHANGE_Z * math.sqrt(2.0) * standard_error


@dataclass(frozen=True)
class ScoreResult:
    """The score of one administration.

    ``total`` and subscale values are ``None`` when too many items are missing.
    ``missing`` lists the scored items not answered, in item order (an unscored
    item is never "missing"); ``flags`` lists raised flags such as
    ``critical:phq9_9`` or ``unanswered:phq9_9``. ``answered`` counts the
    answered scored items.
    """

    instrument: str
    version: str
    total: float | None
    subscales: dict[str, float | None]
    band: str | None
    flags: list[str]
    missing: list[str]
    answered: int

    @property
    def estimated(self) -> bool:
        """Whether the total was computed despite missing items (prorated or a partial mean)."""
        return total_is_estimated(self.total, self.missing)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of the result (without ``answered``)."""
        return {
            "instrument": self.instrument,
            "version": self.version,
            "total": self.total,
            "estimated": self.estimated,
            "subscales": dict(self.subscales),
            "band": self.band,
            "flags": list(self.flags),
            "missing": list(self.missing),
        }


def total_is_estimated(total: float | None, missing: Sequence[str]) -> bool:
    """Whether a stored total stands in for unanswered items.

    ``missing`` lists only scored items, so a total with any missing item was
    prorated (sum scoring) or is the mean of fewer items than the scale has.
    """
    return total is not None and bool(missing)


@dataclass(frozen=True)
class Instrument:
    """A validated questionnaire definition that can score answers.

    Build instances with :func:`rapport.instruments.load_definition`; the loader
    guarantees the invariants the scoring code relies on (known item ids in
    subscales and critical items, contiguous bands covering the score range,
    every text in every declared language).
    """

    id: str
    version: str
    title: Text
    languages: tuple[str, ...]
    construct: str
    higher_is_better: bool
    items: tuple[Item, ...]
    scoring: str
    missing_rule: MissingRule
    decimals: int
    notice: Text
    audience: str
    validated: bool
    instructions: Text = field(default_factory=dict)
    scale_factor: float | None = None
    subscales: tuple[Subscale, ...] = ()
    bands: tuple[Band, ...] = ()
    clinical_cutoff: float | None = None
    reliable_change: float | None = None
    reliable_change_source: str | None = None
    critical_items: tuple[CriticalItem, ...] = ()
    loinc: str | None = None
    total_loinc: str | None = None
    reference: Reference | None = None
    sources: tuple[str, ...] = ()
    source_path: Path | None = field(default=None, compare=False)

    @cached_property
    def item_ids(self) -> tuple[str, ...]:
        """Item ids in administration order."""
        return tuple(item.id for item in self.items)

    @cached_property
    def scored_item_ids(self) -> tuple[str, ...]:
        """Ids of the items that count towards the scores, in administration order."""
        return tuple(item.id for item in self.items if item.scored)

    @cached_property
    def flag_codes(self) -> tuple[str, ...]:
        """Every flag this instrument can raise, in definition order, without repeats."""
        codes = [critical.flag for critical in self.critical_items]
        codes += [c.missing_flag for c in self.critical_items if c.flag_if_missing]
        return tuple(dict.fromkeys(codes))

    @cached_property
    def scoring_layout(self) -> Layout:
        """Item positions, keys and bounds the scorer reads (derived once per instrument)."""
        return scoring.Layout.of(self)

    @property
    def first_session(self) -> int:
        """The earliest session at which a plan may give this questionnaire.

        A check-in comes before its session, so a questionnaire about the relationship
        (trust, alliance, openness) rates the last session, and before the first session
        there is none: it starts at session 2. Anything else may be given from session 1.
        """
        return 2 if self.construct in RELATIONSHIP_CONSTRUCTS else 1

    @property
    def score_range(self) -> tuple[float, float]:
        """The lowest and highest possible total (reverse keying keeps each item's range)."""
        return scoring.total_range(self, self.scored_item_ids)

    def item(self, item_id: str) -> Item:
        """Return the item with ``item_id``; raise :class:`KeyError` if there is none."""
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def band_for(self, total: float | None) -> Band | None:
        """Return the band containing ``total``, or ``None`` (no bands, or no total)."""
        if total is None:
            return None
        return next((band for band in self.bands if band.contains(total)), None)

    def is_clinical(self, total: float | None) -> bool:
        """Return whether ``total`` is at or beyond the clinical cutoff.

        The cutoff is inclusive and points in the worse direction: with
        ``higher_is_better`` false a total ``>= cutoff`` is clinical (PHQ-9 >= 10);
        with ``higher_is_better`` true a total ``<= cutoff`` is clinical.
        """
        if total is None or self.clinical_cutoff is None:
            return False
        if self.higher_is_better:
            return total <= self.clinical_cutoff
        return total >= self.clinical_cutoff

    def parse_answer_list(self, text: str) -> dict[str, Number | None]:
        """Parse comma-separated answers given in item order; an empty field is a missing item.

        Parameters
        ----------
        text : str
            For example ``"0,1,2,,3,0,0,1,2"`` for the PHQ-9.

        Returns
        -------
        dict
            Item id to value (``None`` for missing), validated against the options.

        Raises
        ------
        AnswerError
            Wrong number of fields, a field that is not a number, or a value
            that is not one of the item's options.
        """
        return answers.parse_answer_list(self, text)

    def score(self, answers_by_item: Mapping[str, Number | None]) -> ScoreResult:
        """Score one administration.

        Parameters
        ----------
        answers_by_item : Mapping[str, int | float | None]
            Item id to the chosen option value; absent or ``None`` means missing.

        Returns
        -------
        ScoreResult

        Raises
        ------
        AnswerError
            An unknown item id, or a value that is not one of the item's options.

        Notes
        -----
        Reverse-keyed items are scored as ``min + max - value``. The total is
        the sum (prorated for missing items), the mean, or the mean times the
        scale factor, rounded half up to ``decimals`` places; it is ``None``
        when more than ``missing_rule.max_missing`` items are missing. Critical
        item conditions look at the raw answers.
        """
        return scoring.score_one(self, answers.answer_values(self, answers_by_item))

    def score_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Score many administrations at once (vectorised; no loop over rows).

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per administration and one column per item id; NaN or
            ``None`` marks a missing item. Other columns are ignored.

        Returns
        -------
        pandas.DataFrame
            Same index, with columns ``total``, ``estimated`` (a total despite
            missing items), ``subscale_<id>`` per subscale, ``band`` (ordered
            categorical of band labels; missing where no band applies),
            ``n_answered`` and ``n_missing`` (scored items only), a boolean
            ``critical_<item id>`` per critical item and ``unanswered_<item id>``
            per critical item flagged when missing. Values equal :meth:`score`
            row by row.

        Raises
        ------
        AnswerError
            An item column is absent, or holds a value that is not an option.
        """
        return scoring.score_frame(self, frame)
