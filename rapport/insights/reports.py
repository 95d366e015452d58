"""The four insight pages of one organisation as tables and plain-language readings.

Each page function takes tidy DataFrames (see :mod:`rapport.insights.data`) and returns
``{"readings": [message, ...], "tables": [table, ...], "notes": [message, ...]}`` (see
:mod:`rapport.insights.tables`); :func:`compute` pulls the data and builds all four, or
the pages asked for (a reader's first visit of a filtered view needs one).
Wording is stored language-neutral, as message ids and messages with formatted figures,
and translated when a page is read (:mod:`rapport.insights.wording`).
Every statistic comes from :mod:`rapport.psychometrics`; this module only chooses the
inputs and the suppression.

The figures are computed once, exactly; every row that small-cell protection must hide
carries a mark saying which figures and why (:func:`rapport.insights.tables.protect`).
Who sees the exact figures and who the protected ones is decided by
``rapport.security.access.insight_disclosure``; :mod:`rapport.insights.disclosure`
derives the protected version (blanked tables, readings rewritten from them).

Rules applied everywhere:

* **Small cells.** In the protected version no count of 1 to 10 people is shown or
  derivable (``MIN_CELL`` = 11, the CMS rule). Count tables are marked with
  ``suppression_mask`` (primary and complementary suppression with margins); rates and
  CIs are hidden unless their counts are shown; group statistics follow ``equity()``'s
  suppression (``blank=False``: marked, not blanked); a statistic computed on fewer
  than 11 people is hidden.
* **n and CI.** Every figure carries its n and, where one exists, a 95% CI.
* **Aggregates only.** No table has a row per client or episode.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from django.utils.translation import gettext_noop

from rapport.clinic import demographics
from rapport.clinic.models import Episode, Organisation
from rapport.core.instruments import instruments as installed_instruments
from rapport.insights import data
from rapport.insights.scope import WHOLE_CLINIC, InsightScope
from rapport.insights.tables import (
    COMPLEMENTARY,
    PRIMARY,
    PROTECT,
    Column,
    protect,
    rests_on_small_numbers,
    table,
)
from rapport.insights.wording import message
from rapport.instruments import Instrument, Registry
from rapport.psychometrics import (
    CHANGE_CATEGORIES,
    classify_change,
    correlate,
    dif,
    equity,
    mean_ci,
    omega_total,
    proportion_ci,
    reliability,
    suppression_mask,
)

MIN_CELL = 11
# Version of the stored figures: 6 heads the check-in completion table's counts
# "Check-ins completed" and "Check-ins offered"; 5 names instruments by title in that
# table (4 by id); 4 keeps the hidden months of the monthly outcomes exact and marked (3
# blanked them); 3 stores wording as message ids translated when read
# (rapport.insights.wording), 2 English text; 2 to 4 hold exact figures with protection
# marks (1 held suppressed figures only); 7 names the first trust and alliance scores
# "first score" (they come at session 2); a snapshot of another version is recomputed.
SCHEMA = 7
# Per-therapist outcomes need enough closed episodes that one client cannot swing a rate.
MIN_THERAPIST_EPISODES = 20
# DIF needs about 100 respondents per group at least (dif()'s own minimum; Scott et al.
# 2009 suggest 200). Larger groups are sampled down: with thousands per group every
# likelihood-ratio test is significant anyway and the effect size, which decides the
# flag, is stable; the sample is seeded, so pages are reproducible.
MIN_DIF_GROUP = 100
MAX_DIF_GROUP = 2000
DIF_SEED = 20240601
PRIMARY_OUTCOME = "phq9"

# The published 8-item trust & respect scale that Rapport's check-in was informed by (its
# items are not Rapport's): alpha .91 and r = .53 with alliance, N = 218 outpatients.
PUBLISHED_TRUST = {
    "alpha": 0.91,
    "r_alliance": 0.53,
    "n": 218,
    "source": "Crits-Christoph et al. 2019, BMC Psychology 7:91 (8-item trust & respect scale)",
}

CONSTRUCT_ORDER = ("trust", "alliance", "openness", "outcome")
# Every label and sentence below is stored as its English message id and translated when
# a page is read (rapport.insights.wording); gettext_noop marks them for the catalogue.
CHARACTERISTICS = {
    "race_ethnicity": gettext_noop("Race or ethnicity"),
    "language": gettext_noop("Preferred language"),
    "gender": gettext_noop("Gender"),
    "age_band": gettext_noop("Age band"),
}
# The same in the middle of a sentence.
CHARACTERISTICS_IN_TEXT = {
    "race_ethnicity": gettext_noop("race or ethnicity"),
    "language": gettext_noop("preferred language"),
    "gender": gettext_noop("gender"),
    "age_band": gettext_noop("age band"),
}
PREFER_NOT = gettext_noop("Prefer not to say")
MISSING = gettext_noop("Missing")
MULTIRACIAL = gettext_noop("Multiracial")
# Values rapport.psychometrics writes into table cells: equity()'s membership rules and
# dif()'s flags, translated when read like every other label.
PSYCHOMETRICS_WORDS = (
    gettext_noop("exclusive"),
    gettext_noop("any mention"),
    gettext_noop("two or more"),
    gettext_noop("none"),
    gettext_noop("moderate"),
    gettext_noop("large"),
)
CHANGE_LABELS = {
    "recovered": gettext_noop("Reliably improved and recovered"),
    "reliably_improved": gettext_noop("Reliably improved, not recovered"),
    "no_reliable_change": gettext_noop("No reliable change"),
    "reliably_deteriorated": gettext_noop("Reliably deteriorated"),
}
END_REASON_LABELS = {
    "completed": gettext_noop("Completed treatment"),
    "dropout": gettext_noop("Dropped out"),
    "referred": gettext_noop("Referred elsewhere"),
    "other": gettext_noop("Other ending"),
}

N = Column("n", "n", "int")
CI = Column("ci", gettext_noop("95% CI"), "ci")
RATE = Column("rate", gettext_noop("Rate"), "pct")
RATE_CI = Column("ci", gettext_noop("95% CI"), "ci_pct")
RATE_KEYS = ["rate", "ci_low", "ci_high"]


def coefficient(value: float | None) -> str:
    """``.91`` for a coefficient between -1 and 1, as APA style writes them."""
    if value is None or not np.isfinite(value):
        return "—"
    text = f"{value:.2f}"
    return text.replace("0.", ".", 1)


# --- shared building blocks --------------------------------------------------------------


def category_rates(
    counts: pd.DataFrame,
    *,
    shown: Sequence[str] | None = None,
    all_label: str = gettext_noop("All"),
) -> list[dict[str, Any]]:
    """Rates of each category within each row of a group x category count table.

    The table gets its margins and the CMS suppression with complementary cells
    (``suppression_mask``); a rate and its Wilson CI may be published only when both its
    count and its row total are, so nothing hidden can be worked back. Returns long rows
    ``group, category, count, n, rate, ci_low, ci_high`` with exact figures, each row
    marked (:func:`protect`) with what publishing it must hide; the margin row is
    labelled ``all_label`` (left out when the table has one row, where it repeats it).
    """
    counts = counts.astype(int)
    hidden = suppression_mask(counts)
    total_label = hidden.columns[-1]
    full = counts.copy()
    full[total_label] = counts.sum(axis=1)
    full.loc[total_label] = full.sum(axis=0)
    rows = []
    groups = list(hidden.index) if len(counts) > 1 else list(hidden.index[:-1])
    for group in groups:
        n = int(full.at[group, total_label])
        for category in shown or list(counts.columns):
            count = int(full.at[group, category])
            row: dict[str, Any] = {
                "group": all_label if group == hidden.index[-1] else group,
                "category": category,
                "count": count,
                "n": n,
                "rate": None,
                "ci_low": None,
                "ci_high": None,
                "suppressed": False,
            }
            if n > 0:
                row["rate"], row["ci_low"], row["ci_high"] = proportion_ci(count, n)
            count_hidden, n_hidden = hidden.at[group, category], hidden.at[group, total_label]
            if count_hidden or n_hidden:
                small = (count_hidden and small_count(count)) or (n_hidden and small_count(n))
                protect(
                    row,
                    ["count"] * bool(count_hidden) + ["n"] * bool(n_hidden) + RATE_KEYS,
                    PRIMARY if small else COMPLEMENTARY,
                )
            rows.append(row)
    return rows


def small_count(n: int | None) -> bool:
    """A count of 1 to 10 people: never published, marked when shown exactly."""
    return n is not None and 0 < n < MIN_CELL


def two_category_rates(counts: pd.DataFrame) -> dict[Any, dict[str, Any]]:
    """Rate of the first of two categories in each row, each row its own table with its total.

    Used where rows are published without a column total (per-therapist rates: the
    therapists shown are a subset, so no margin across them is ever published). For a
    row "event, non-event, total" the CMS rule with complementary suppression reduces to:
    publish the rate only if neither count is 1 to 10 (hiding one forces hiding the other,
    and then both stay protected because only their sum is known). This equals
    ``suppress_counts`` on each one-row table (tested) without an LP per therapist.
    Rates are exact; a row that may not be published is marked (primary).
    """
    rates: dict[Any, dict[str, Any]] = {}
    for group, (events, others) in zip(counts.index, counts.to_numpy(dtype=int), strict=True):
        row: dict[str, Any] = {"rate": None, "ci_low": None, "ci_high": None, "suppressed": False}
        if events + others > 0:
            row["rate"], row["ci_low"], row["ci_high"] = proportion_ci(events, events + others)
        if small_count(events) or small_count(others):
            protect(row, RATE_KEYS, PRIMARY)
        rates[group] = row
    return rates


def _mean_row(values: pd.Series) -> dict[str, Any]:
    """Mean with t interval and n (marked for protection when n is 1 to 10)."""
    values = values.dropna()
    n = len(values)
    row: dict[str, Any] = {
        "n": n,
        "mean": None,
        "ci_low": None,
        "ci_high": None,
        "suppressed": False,
    }
    if n >= 2:
        row["mean"], row["ci_low"], row["ci_high"] = mean_ci(values.to_numpy(dtype=float))
    if small_count(n):
        protect(row, ["n", "mean", "ci_low", "ci_high"], PRIMARY)
    return row


CORRELATION_KEYS = ["n", "r", "ci_low", "ci_high", "p", "z", "p_compare"]


def _correlation_row(frame: pd.DataFrame, x: str, y: str, r0: float | None = None):
    """Pearson r with Fisher CI (and a test against a published r0); marked for
    protection when it rests on 1 to 10 pairs."""
    pairs = frame[[x, y]].dropna()
    row: dict[str, Any] = {"n": len(pairs), "suppressed": False}
    if small_count(len(pairs)):
        protect(row, CORRELATION_KEYS, PRIMARY)
    try:
        result = correlate(pairs, x, y, r0=r0)
    except ValueError as error:
        row["note"] = f"not computed: {error}"
        return row
    row.update(r=result.r, ci_low=result.ci[0], ci_high=result.ci[1], p=result.p)
    if result.compare is not None:
        row.update(z=result.compare.z, p_compare=result.compare.p)
    return row


# --- instrument health ------------------------------------------------------------------


def _instrument_sort_key(instrument: Instrument) -> tuple[int, str]:
    construct = instrument.construct
    rank = CONSTRUCT_ORDER.index(construct) if construct in CONSTRUCT_ORDER else 99
    return rank, instrument.id


def reliability_level(alpha: float) -> str:
    if alpha >= 0.9:
        return gettext_noop("hang together very well")
    if alpha >= 0.8:
        return gettext_noop("hang together well")
    if alpha >= 0.7:
        return gettext_noop("hang together acceptably")
    return gettext_noop("do not hang together well; read their totals with care")


def published_alpha(instrument: Instrument) -> tuple[float | None, str]:
    if instrument.construct == "trust":
        return PUBLISHED_TRUST["alpha"], PUBLISHED_TRUST["source"]
    reference = instrument.reference
    if reference is None or reference.alpha is None:
        return None, ""
    return reference.alpha, reference.source or ""


def instrument_health(
    instruments: Sequence[Instrument],
    answers: Mapping[str, pd.DataFrame],
    first_scores: pd.DataFrame,
) -> dict[str, Any]:
    """Alpha (Feldt CI), omega and item statistics per instrument, beside published values.

    ``answers[instrument_id]`` holds one row per client (their first completed
    administration) and one column per item; ``first_scores`` one row per episode with
    the first totals of the trust and alliance instruments (columns ``trust``,
    ``alliance``) for the comparison with the published r = .53.
    """
    summary_rows, item_tables = [], []
    for instrument in instruments:
        # An unscored question (the PHQ-9's "how difficult") is not part of the scale.
        items = list(instrument.scored_item_ids)
        frame = answers[instrument.id][items].dropna(how="all")
        published, source = published_alpha(instrument)
        row: dict[str, Any] = {
            "instrument": instrument.title.get("en", instrument.id),
            "n": len(frame),
            "k": len(items),
            "published_alpha": published,
            "source": source,
            "suppressed": False,
        }
        summary_rows.append(row)
        if small_count(len(frame)):
            protect(row, ["n", "alpha", "ci_low", "ci_high", "omega"], PRIMARY)
        reverse = [item.id for item in instrument.items if item.reverse]
        try:
            result = reliability(frame, items, reverse=reverse)
            omega = omega_total(frame, items, reverse=reverse)
        except ValueError as error:
            row["note"] = f"not computed: {error}"
            continue
        row.update(
            alpha=result.alpha,
            ci_low=result.feldt_ci[0],
            ci_high=result.feldt_ci[1],
            omega=omega.omega_total,
        )
        item_stats = result.items[["item", "n", "mean", "sd", "r_drop", "alpha_if_dropped"]]
        item_rows = item_stats.to_dict(orient="records")
        for item_row in item_rows:
            # The item's wording, never its id (read in the reader's language on the page).
            item_row["item"] = instrument.item(item_row["item"]).text.get("en", item_row["item"])
        for item_row in item_rows:
            item_row["suppressed"] = False
            if small_count(item_row["n"]):
                # Items only: no total across items is published, so no complements.
                protect(item_row, ["n", "mean", "sd", "r_drop", "alpha_if_dropped"], PRIMARY)
        item_tables.append(
            table(
                f"items_{instrument.id}",
                message(gettext_noop("%(instrument)s: items"), instrument=row["instrument"]),
                [
                    Column("item", gettext_noop("Item")),
                    N,
                    Column("mean", gettext_noop("Mean"), "num"),
                    Column("sd", gettext_noop("SD"), "num"),
                    Column("r_drop", gettext_noop("Item-rest r"), "num"),
                    Column("alpha_if_dropped", gettext_noop("Alpha without item"), "num"),
                ],
                item_rows,
                note=gettext_noop("Reverse-keyed items are scored in the scale's direction first."),
            )
        )
    comparison = _correlation_row(
        first_scores, "trust", "alliance", r0=PUBLISHED_TRUST["r_alliance"]
    )
    comparison.update(
        pair=gettext_noop("Trust and alliance, first score"),
        published_r=PUBLISHED_TRUST["r_alliance"],
    )
    tables = [
        table(
            "reliability",
            gettext_noop("Internal consistency"),
            [
                Column("instrument", gettext_noop("Instrument")),
                N,
                Column("k", gettext_noop("Items"), "int"),
                Column("alpha", gettext_noop("Alpha"), "num"),
                Column("ci", gettext_noop("Alpha 95% CI (Feldt)"), "ci"),
                Column("omega", gettext_noop("Omega total"), "num"),
                Column("published_alpha", gettext_noop("Published alpha"), "num"),
                Column("source", gettext_noop("Published source")),
            ],
            summary_rows,
            note=gettext_noop(
                "One administration per client: each client's first completed check-in "
                "with the instrument, so that nobody counts more than once."
            ),
        ),
        table(
            "published_comparison",
            gettext_noop("Trust and alliance against the published correlation"),
            [
                Column("pair", gettext_noop("Scores")),
                N,
                Column("r", "r", "num"),
                CI,
                Column("published_r", gettext_noop("Published r"), "num"),
                Column("z", gettext_noop("z (difference)"), "num"),
                Column("p_compare", gettext_noop("p (difference)"), "p"),
            ],
            [comparison],
            note=gettext_noop(
                "The published value is treated as fixed (Fisher z test). One row per "
                "episode: its first trust and alliance totals."
            ),
        ),
        *item_tables,
    ]
    return _page("instruments", tables)


# --- trust & alliance ---------------------------------------------------------------------

MEASURES = {
    "trust_first": gettext_noop("Trust, first score"),
    "trust_mean": gettext_noop("Trust, mean over sessions"),
    "alliance_first": gettext_noop("Alliance, first score"),
    "alliance_mean": gettext_noop("Alliance, mean over sessions"),
    "openness_mean": gettext_noop("Openness, mean over sessions"),
    "outcome_improvement": gettext_noop("Outcome improvement (intake to last)"),
}


def trust_alliance(episodes: pd.DataFrame) -> dict[str, Any]:
    """Correlations among trust, alliance, openness and outcome change; early trust vs dropout.

    ``episodes`` has one row per episode with the ``MEASURES`` columns, ``trust_early``
    (mean trust up to session 3) and ``dropout`` (0/1 for closed episodes, NaN otherwise).
    """
    pair_rows = []
    for x, y in itertools.combinations(MEASURES, 2):
        row = _correlation_row(episodes, x, y)
        row.update(x=MEASURES[x], y=MEASURES[y])
        pair_rows.append(row)

    closed = episodes[episodes["dropout"].notna() & episodes["trust_early"].notna()]
    tertile_rows: list[dict[str, Any]] = []
    summary_rows: list[dict[str, Any]] = []
    if len(closed) >= MIN_CELL and closed["trust_early"].nunique() >= 3:
        cuts = closed["trust_early"].quantile([1 / 3, 2 / 3]).to_numpy()
        low, high = f"{cuts[0]:.2f}", f"{cuts[1]:.2f}"
        third_labels = {
            "lowest": message(gettext_noop("Lowest third (below %(low)s)"), low=low),
            "middle": message(
                gettext_noop("Middle third (%(low)s to %(high)s)"), low=low, high=high
            ),
            "highest": message(gettext_noop("Highest third (above %(high)s)"), high=high),
        }
        labels = list(third_labels)
        tertile = np.select(
            [closed["trust_early"] < cuts[0], closed["trust_early"] <= cuts[1]],
            labels[:2],
            default=labels[2],
        )
        counts = pd.crosstab(
            pd.Categorical(tertile, categories=labels),
            closed["dropout"].map({1.0: "dropped", 0.0: "stayed"}),
        ).reindex(columns=["dropped", "stayed"], fill_value=0)
        counts.index = labels
        tertile_rows = category_rates(
            counts, shown=["dropped"], all_label=gettext_noop("All closed episodes")
        )
        for row in tertile_rows:
            row["group"] = third_labels.get(row["group"], row["group"])
        summary_rows.append(
            {
                "statistic": gettext_noop("Point-biserial r (early trust, dropout)"),
                **_correlation_row(closed, "trust_early", "dropout"),
            }
        )
        summary_rows.append(_logistic_row(closed))
    tables = [
        table(
            "correlations",
            gettext_noop("How trust, alliance, openness and outcome change relate"),
            [
                Column("x", gettext_noop("Measure")),
                Column("y", gettext_noop("With")),
                N,
                Column("r", "r", "num"),
                CI,
                Column("p", "p", "p"),
            ],
            pair_rows,
            note=message(
                gettext_noop(
                    "One row per episode; outcome improvement is the intake minus the last "
                    "%(instrument)s score (positive = better), episodes with two or more "
                    "scores."
                ),
                instrument=PRIMARY_OUTCOME.upper(),
            ),
        ),
        table(
            "early_trust_dropout",
            message(
                gettext_noop(
                    "Dropout by early trust (mean of sessions 1-%(sessions)s), closed episodes"
                ),
                sessions=str(data.EARLY_SESSIONS),
            ),
            [
                Column("group", gettext_noop("Early trust")),
                Column("count", gettext_noop("Dropped out"), "int"),
                N,
                RATE,
                RATE_CI,
            ],
            tertile_rows,
            note=gettext_noop(
                "Thirds of the closed episodes by early trust; Wilson 95% intervals."
            ),
        ),
        table(
            "early_trust_dropout_model",
            gettext_noop("Early trust as a predictor of dropout"),
            [
                Column("statistic", gettext_noop("Statistic")),
                N,
                Column("r", gettext_noop("Estimate"), "num3"),
                CI,
                Column("p", "p", "p"),
            ],
            summary_rows,
            note=gettext_noop(
                "The odds ratio is per one point of early trust (1-7 scale); below 1 means "
                "less dropout."
            ),
        ),
    ]
    return _page("trust_alliance", tables)


def _logistic_row(closed: pd.DataFrame) -> dict[str, Any]:
    """Logistic regression of dropout on early trust: odds ratio per point with Wald CI."""
    import statsmodels.api as sm

    row: dict[str, Any] = {
        "statistic": gettext_noop("Odds ratio of dropout per trust point"),
        "n": len(closed),
    }
    try:
        design = sm.add_constant(closed["trust_early"].to_numpy(dtype=float))
        fit = sm.Logit(closed["dropout"].to_numpy(dtype=float), design).fit(disp=0)
    except Exception as error:  # perfect separation, singular design: say so on the page
        row["note"] = f"not computed: {error}"
        return row
    low, high = fit.conf_int()[1]
    # A filtered view can hold too few dropouts, or dropouts perfectly predicted by early
    # trust: the fit then does not converge and its odds ratio means nothing. No estimate.
    if not fit.mle_retvals.get("converged", True) or not np.isfinite([low, high]).all():
        return row
    if max(abs(low), abs(high)) > 700:  # exp() overflows: separation in all but name
        return row
    row.update(
        r=float(np.exp(fit.params[1])), ci_low=float(np.exp(low)), ci_high=float(np.exp(high))
    )
    row["p"] = float(fit.pvalues[1])
    return row


# --- outcomes -----------------------------------------------------------------------------


def classify_outcomes(summary: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """``classify_change`` of intake (first) vs last score with the instrument's published rules."""
    if instrument.reliable_change is None:
        raise ValueError(f"{instrument.id} has no published reliable-change threshold")
    return classify_change(
        summary,
        "first",
        "last",
        higher_is_better=instrument.higher_is_better,
        rci_points=instrument.reliable_change,
        cutoff=instrument.clinical_cutoff,
    )


def outcomes(
    episodes: pd.DataFrame,
    summaries: Mapping[str, pd.DataFrame],
    instruments: Sequence[Instrument],
    status_counts: pd.DataFrame,
    therapist_labels: Mapping[int, str],
) -> dict[str, Any]:
    """Reliable change categories, check-in completion, endings, and per-therapist outcomes."""
    closed = episodes[episodes["closed"]].set_index("episode")
    change_rows: list[dict[str, Any]] = []
    classified_primary: pd.DataFrame | None = None
    for instrument in instruments:
        if instrument.construct != "outcome" or instrument.reliable_change is None:
            continue
        summary = summaries[instrument.id]
        usable = summary[(summary["n"] >= 2) & summary.index.isin(closed.index)]
        if usable.empty:
            continue
        classified = classify_outcomes(usable, instrument)
        if instrument.id == PRIMARY_OUTCOME:
            classified_primary = classified
        counts = classified["category"].value_counts().reindex(CHANGE_CATEGORIES, fill_value=0)
        counts.index = [CHANGE_LABELS[c] for c in counts.index]
        title = instrument.title.get("en", instrument.id)
        change_rows += category_rates(counts.to_frame().T.set_axis([title]))

    completion = status_counts[status_counts["status"].isin(["completed", "expired", "declined"])]
    completion_rows: list[dict[str, Any]] = []
    if not completion.empty:
        pivot = completion.pivot_table(
            index="instrument", columns="status", values="count", aggfunc="sum", fill_value=0
        ).reindex(columns=["completed", "expired", "declined"], fill_value=0)
        # Instruments by title, in page order (an id no longer installed keeps its id, last).
        registry = installed_instruments()
        known = sorted(
            (registry[i] for i in pivot.index if i in registry), key=_instrument_sort_key
        )
        order = [i.id for i in known] + sorted(i for i in pivot.index if i not in registry)
        pivot = pivot.reindex(order)
        pivot.index = [registry[i].title.get("en", i) if i in registry else i for i in order]
        completion_rows = category_rates(
            pivot, shown=["completed"], all_label=gettext_noop("All instruments")
        )

    end_counts = closed["end_reason"].value_counts().reindex(list(END_REASON_LABELS), fill_value=0)
    end_counts.index = [END_REASON_LABELS[r] for r in end_counts.index]
    ending_rows = (
        category_rates(end_counts.to_frame().T.set_axis([gettext_noop("Closed episodes")]))
        if len(closed)
        else []
    )
    retention = {
        "group": gettext_noop("All episodes"),
        "active": int((~episodes["closed"]).sum()),
        "closed": len(closed),
    }

    therapist_rows = _therapist_rows(
        closed, classified_primary, summaries.get(PRIMARY_OUTCOME), therapist_labels
    )
    n_small = int((closed.groupby("therapist").size() < MIN_THERAPIST_EPISODES).sum())
    tables = [
        table(
            "reliable_change",
            gettext_noop("Reliable and clinically significant change, closed episodes"),
            [
                Column("group", gettext_noop("Instrument")),
                Column("category", gettext_noop("Outcome")),
                Column("count", gettext_noop("Episodes"), "int"),
                N,
                RATE,
                RATE_CI,
            ],
            change_rows,
            note=gettext_noop(
                "Intake is the first score of the episode and the end the last; episodes "
                "with two or more scores. Reliable change and the clinical cutoff are the "
                "instrument's published values (e.g. PHQ-9: 6 points, caseness 10)."
            ),
        ),
        table(
            "checkin_completion",
            gettext_noop("Check-in completion"),
            [
                Column("group", gettext_noop("Instrument")),
                Column("count", gettext_noop("Check-ins completed"), "int"),
                Column("n", gettext_noop("Check-ins offered"), "int"),
                RATE,
                RATE_CI,
            ],
            completion_rows,
            note=gettext_noop(
                "Check-ins offered: those completed, expired or declined (pending ones are "
                "not counted)."
            ),
        ),
        table(
            "endings",
            gettext_noop("How closed episodes ended (retention and dropout)"),
            [
                Column("category", gettext_noop("Ending")),
                Column("count", gettext_noop("Episodes"), "int"),
                N,
                RATE,
                RATE_CI,
            ],
            ending_rows,
        ),
        table(
            "retention",
            gettext_noop("Episodes by status"),
            [
                Column("group", gettext_noop("Episodes")),
                Column("active", gettext_noop("Active"), "int"),
                Column("closed", gettext_noop("Closed"), "int"),
            ],
            [_status_row(retention)],
        ),
        table(
            "by_therapist",
            gettext_noop("By therapist (case-mix caveat: read with care)"),
            [
                Column("therapist", gettext_noop("Therapist")),
                Column("n_closed", gettext_noop("Closed episodes"), "int"),
                Column("intake_mean", gettext_noop("Mean intake PHQ-9"), "num"),
                Column("intake_ci", gettext_noop("Intake 95% CI"), "ci"),
                Column("improved_rate", gettext_noop("Reliably improved"), "pct"),
                Column("improved_ci", gettext_noop("95% CI"), "ci_pct"),
                Column("dropout_rate", gettext_noop("Dropped out"), "pct"),
                Column("dropout_ci", gettext_noop("95% CI"), "ci_pct"),
            ],
            therapist_rows,
            hidden=["therapist_id"],
            note=message(
                gettext_noop(
                    "Only therapists with at least %(minimum)s closed episodes (%(fewer)s with "
                    "fewer are not shown separately). Therapists see different clients: "
                    "higher intake severity, complexity or circumstances change what outcomes "
                    "are possible, so differences here are not measures of skill."
                ),
                minimum=str(MIN_THERAPIST_EPISODES),
                fewer=str(n_small),
            ),
        ),
    ]
    return _page("outcomes", tables)


def _status_row(row: dict[str, Any]) -> dict[str, Any]:
    """Active and closed episodes, marked as a one-way table with its total."""
    counts = pd.Series({"active": row["active"], "closed": row["closed"]})
    hidden = [key for key, masked in suppression_mask(counts).items() if masked and key in counts]
    out = {**row, "suppressed": False}
    if hidden:
        small = any(small_count(int(counts[key])) for key in hidden)
        protect(out, hidden, PRIMARY if small else COMPLEMENTARY)
    return out


def _therapist_rows(
    closed: pd.DataFrame,
    classified: pd.DataFrame | None,
    primary_summary: pd.DataFrame | None,
    labels: Mapping[int, str],
) -> list[dict[str, Any]]:
    sizes = closed.groupby("therapist").size()
    # In pseudonym order: the pseudonyms number the therapists by account id.
    eligible = sorted(sizes[sizes >= MIN_THERAPIST_EPISODES].index)
    if not eligible:
        return []
    mine = closed[closed["therapist"].isin(eligible)]
    dropout = pd.crosstab(mine["therapist"], mine["dropout"].map({1.0: "dropped", 0.0: "stayed"}))
    dropout = dropout.reindex(index=eligible, columns=["dropped", "stayed"], fill_value=0)
    dropout_rates = two_category_rates(dropout)
    improved_rates: dict[Any, dict[str, Any]] = {}
    if classified is not None:
        with_therapist = classified.join(closed["therapist"])
        with_therapist = with_therapist[with_therapist["therapist"].isin(eligible)]
        improved = with_therapist["category"].isin(["recovered", "reliably_improved"])
        counts = pd.crosstab(
            with_therapist["therapist"], improved.map({True: "improved", False: "not"})
        )
        counts = counts.reindex(index=eligible, columns=["improved", "not"], fill_value=0)
        improved_rates = two_category_rates(counts)
    intakes: dict[Any, pd.Series] = {}
    if primary_summary is not None:
        # Each therapist's intake scores in the order of their closed episodes.
        intake = primary_summary["first"].reindex(closed.index)
        intakes = dict(iter(intake.groupby(closed["therapist"].to_numpy(), sort=False)))
    rows = []
    for therapist in eligible:
        row: dict[str, Any] = {
            "therapist": labels.get(therapist, ""),
            "therapist_id": int(therapist),
        }
        row["n_closed"] = int(sizes[therapist])
        if primary_summary is not None:
            stats = _mean_row(intakes[therapist])
            _prefixed(row, "intake", stats, ["mean", "ci_low", "ci_high"])
        for prefix, rates in (("improved", improved_rates), ("dropout", dropout_rates)):
            rate = rates.get(therapist, {})
            _prefixed(row, prefix, rate, RATE_KEYS)
        rows.append(row)
    return rows


def _prefixed(
    row: dict[str, Any], prefix: str, source: Mapping[str, Any], keys: Sequence[str]
) -> None:
    """Copy ``source``'s figures into ``row`` under ``prefix_key``, with their protection."""
    for key in keys:
        row[f"{prefix}_{key}"] = source.get(key)
    mark = source.get(PROTECT)
    if mark:
        hidden = [f"{prefix}_{key}" for key in mark["keys"] if key in keys]
        protect(row, hidden, mark["why"])


# --- monthly outcomes -----------------------------------------------------------------------

MONTHLY_MEASURES = {
    "improved": gettext_noop("Reliably improved"),
    "recovered": gettext_noop("Recovered"),
    "dropout": gettext_noop("Dropped out"),
}


def shown_months(counts: pd.DataFrame) -> list[Any]:
    """The months (rows of a month x category count table) whose counts may be shown.

    A month is hidden when any of its counts is 1 to 10; each month is its own small
    table (its counts and their total), as per therapist. Because the totals over all
    months are published elsewhere on the page, the hidden months taken together must not
    be a group of 1 to 10 either (it could be worked out by subtraction): while they are,
    the smallest shown month is hidden too (complementary suppression, earliest first on
    ties).
    """
    values = counts.to_numpy(dtype=int)
    hidden = {i for i, row in enumerate(values) if any(0 < v < MIN_CELL for v in row)}

    def small_remainder() -> bool:
        together = values[sorted(hidden)].sum(axis=0) if hidden else np.zeros(1, dtype=int)
        return any(0 < v < MIN_CELL for v in together)

    while hidden and small_remainder() and len(hidden) < len(values):
        shown = [i for i in range(len(values)) if i not in hidden]
        hidden.add(min(shown, key=lambda i: (values[i].sum(), i)))
    return [month for i, month in enumerate(counts.index) if i not in hidden]


def monthly_outcomes(
    episodes: pd.DataFrame, summary: pd.DataFrame | None, instrument: Instrument | None
) -> dict[str, Any]:
    """Reliable improvement, recovery and dropout by the month episodes closed, with Wilson CIs.

    ``episodes`` as for :func:`outcomes` (with ``ended_month``); ``summary`` the primary
    outcome instrument's per-episode summary. Improvement and recovery are one table of
    three disjoint counts per month (recovered, improved but not recovered, not
    improved), so that neither rate gives away the count between them; dropout is a
    table of two (dropped out, stayed). :func:`shown_months` decides which months show.
    """
    closed = episodes[episodes["closed"] & (episodes["ended_month"] != "")].set_index("episode")
    rows: list[dict[str, Any]] = []
    month_rows: dict[str, list[dict[str, Any]]] = {}

    def add(month: Any, measure: str, events: int, n: int) -> None:
        row: dict[str, Any] = {"month": month, "measure": MONTHLY_MEASURES[measure]}
        row.update(count=None, n=None, rate=None, ci_low=None, ci_high=None)
        if n > 0:
            rate, low, high = proportion_ci(events, n)
            row.update(count=events, n=n, rate=rate, ci_low=low, ci_high=high)
        if month not in shown:
            # Exact for readers who may open every record behind it, marked; blanked
            # for everyone else (rapport.insights.disclosure).
            why = PRIMARY if month in small else COMPLEMENTARY
            protect(row, ["count", "n", "rate", "ci_low", "ci_high"], why)
        month_rows.setdefault(month, []).append(row)

    improvement = pd.DataFrame(columns=["recovered", "improved_only", "not_improved"])
    if summary is not None and instrument is not None and instrument.reliable_change:
        usable = summary[(summary["n"] >= 2) & summary.index.isin(closed.index)]
        if not usable.empty:
            category = classify_outcomes(usable, instrument)["category"]
            grouped = np.select(
                [category == "recovered", category == "reliably_improved"],
                ["recovered", "improved_only"],
                default="not_improved",
            )
            improvement = pd.crosstab(
                closed.loc[usable.index, "ended_month"].to_numpy(), grouped
            ).reindex(columns=["recovered", "improved_only", "not_improved"], fill_value=0)
    dropout = pd.crosstab(
        closed["ended_month"], closed["dropout"].map({1.0: "dropped", 0.0: "stayed"})
    ).reindex(columns=["dropped", "stayed"], fill_value=0)
    # Both tables of a month are shown or hidden together, judged on every count a reader
    # could derive from them, including the difference of their totals (closed episodes
    # without two scores): otherwise subtracting one n from the other could give 1-10.
    joint = improvement.join(dropout, how="outer").fillna(0).astype(int)
    joint["unscored"] = joint[["dropped", "stayed"]].sum(axis=1) - joint[
        ["recovered", "improved_only", "not_improved"]
    ].sum(axis=1)
    shown = set(shown_months(joint)) if len(joint) else set()
    small = {month for month, counts in joint.iterrows() if any(0 < v < MIN_CELL for v in counts)}
    for month, (recovered, improved_only, not_improved) in improvement.iterrows():
        n = int(recovered + improved_only + not_improved)
        add(month, "improved", int(recovered + improved_only), n)
        add(month, "recovered", int(recovered), n)
    for month, (dropped, stayed) in dropout.iterrows():
        add(month, "dropout", int(dropped), int(dropped + stayed))
    for month in sorted(month_rows):
        rows.extend(month_rows[month])
    outcome = instrument.title.get("en", instrument.id) if instrument is not None else ""
    return table(
        "monthly_outcomes",
        gettext_noop("Improvement, recovery and dropout by month"),
        [
            Column("month", gettext_noop("Month closed")),
            Column("measure", gettext_noop("Outcome")),
            *MONTH_COLUMNS,
        ],
        rows,
        note=message(
            gettext_noop(
                "Closed episodes by the month they ended. Improvement and recovery use the "
                "%(outcome)s (episodes with two or more scores), dropout all closed "
                "episodes; Wilson 95%% intervals. A month is not shown when any of its counts "
                "is 1-10 (including episodes closed without two scores, the difference of "
                "its totals), and more months are hidden when the hidden ones together "
                "would be that small."
            ),
            outcome=outcome,
        ),
    )


MONTH_COLUMNS = [Column("count", gettext_noop("Episodes"), "int"), N, RATE, RATE_CI]


# --- equity -------------------------------------------------------------------------------

EQUITY_OUTCOMES = {
    "trust_mean": gettext_noop("Trust, mean over sessions"),
    "alliance_mean": gettext_noop("Alliance, mean over sessions"),
    "outcome_improvement": gettext_noop("Outcome improvement (intake to last)"),
    "dropout": gettext_noop("Dropped out (closed episodes)"),
}


def _per_value(column: pd.Series, label: Any) -> pd.Series:
    """``column.map(label)``, calling ``label`` once per distinct value (hashable ones)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=False)
    labels = np.empty(len(uniques), dtype=object)
    labels[:] = [label(value) for value in uniques]
    return pd.Series(labels[codes], index=column.index, dtype=object)


def group_labels(episodes: pd.DataFrame) -> pd.DataFrame:
    """Readable group labels for each characteristic (race/ethnicity stays a list)."""
    labelled = pd.DataFrame(index=episodes.index)
    labelled["race_ethnicity"] = _per_value(
        episodes["race_ethnicity"].map(tuple),
        lambda codes: [demographics.RACE_ETHNICITY.get(code, code) for code in codes],
    )
    for column, names in (("language", demographics.LANGUAGE), ("gender", demographics.GENDER)):
        labelled[column] = _per_value(
            episodes[column],
            lambda code, names=names: names.get(code, MISSING) if code else MISSING,
        )
    labelled["age_band"] = episodes["age_band"].replace("", MISSING)
    return labelled


def exclusive_race(selection: list[str]) -> str:
    """One group per client for analyses that need disjoint groups (DIF)."""
    if not selection:
        return MISSING
    if len(selection) > 1:
        return MULTIRACIAL
    return selection[0]


def equity_page(
    episodes: pd.DataFrame, trust_items: pd.DataFrame | None, trust: Instrument | None
) -> dict[str, Any]:
    """Group comparisons (equity) and DIF flags for the trust items.

    ``episodes``: one row per episode with the ``EQUITY_OUTCOMES`` columns and the
    demographic codes; ``trust_items``: one row per client (first administration) with
    the trust item columns and the client's demographic codes.
    """
    labelled = group_labels(episodes)
    frame = pd.concat([labelled, episodes[list(EQUITY_OUTCOMES)].astype(float)], axis=1)
    dif_tables, notes = _dif_tables(trust_items, trust)
    if len(frame) < MIN_CELL:
        notes.insert(0, gettext_noop("Not enough data for group comparisons yet."))
        result = pd.DataFrame(columns=["outcome"])
    else:
        result = equity(
            frame,
            list(EQUITY_OUTCOMES),
            list(CHARACTERISTICS),
            kind={k: "proportion" if k == "dropout" else "mean" for k in EQUITY_OUTCOMES},
            multi_select="race_ethnicity",
            multiple_label=MULTIRACIAL,
            missing_label=MISSING,
            blank=False,
        )
        result["characteristic"] = result["characteristic"].map(CHARACTERISTICS)
        result = result.rename(columns={"estimate": "mean"})
    tables = [
        _equity_table(index, title, _equity_rows(result[result["outcome"] == outcome]))
        for index, (outcome, title) in enumerate(EQUITY_OUTCOMES.items())
    ]
    return _page("equity", tables + dif_tables, notes)


DIFFERENCE_KEYS = ["difference", "diff_ci_low", "diff_ci_high"]
# What publishing an equity row hides, by equity()'s reason (see its ``blank`` argument).
EQUITY_HIDDEN = {
    "primary": ["n", "mean", "ci_low", "ci_high", *DIFFERENCE_KEYS],
    "complementary": ["n", "mean", "ci_low", "ci_high", *DIFFERENCE_KEYS],
    "reference": DIFFERENCE_KEYS,
}


def _equity_rows(result: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for record in result.to_dict(orient="records"):
        reason = record.pop("suppression", "")
        record["suppressed"] = False
        if reason:
            protect(
                record, EQUITY_HIDDEN[reason], PRIMARY if reason == "primary" else COMPLEMENTARY
            )
        rows.append(record)
    return rows


def _equity_table(index: int, title: str, rows: pd.DataFrame) -> dict[str, Any]:
    return table(
        f"equity_{index}",
        title,
        [
            Column("characteristic", gettext_noop("Characteristic")),
            Column("group", gettext_noop("Group")),
            Column("membership", gettext_noop("Counted as")),
            N,
            Column("mean", gettext_noop("Estimate"), "num3"),
            CI,
            Column("reference", gettext_noop("Compared with")),
            Column("difference", gettext_noop("Difference"), "num3"),
            Column("diff_ci", gettext_noop("Difference 95% CI"), "ci3"),
        ],
        rows,
        note=gettext_noop(
            "Race or ethnicity allows several answers: a client who chose two is counted in "
            "each and in Multiracial, so groups overlap. The reference is the largest group. "
            "Groups of 1-10 (and complements) are suppressed."
        ),
    )


def _dif_tables(trust_items: pd.DataFrame | None, trust: Instrument | None):
    if trust is None or trust_items is None or trust_items.empty:
        return [], [
            gettext_noop("Not enough data for differential item functioning (no trust answers).")
        ]
    items = list(trust.item_ids)
    keyed = trust_items[items].copy()
    for item in trust.items:
        if item.reverse:
            keyed[item.id] = item.min_value + item.max_value - keyed[item.id]
    labelled = group_labels(trust_items)
    labelled["race_ethnicity"] = labelled["race_ethnicity"].map(exclusive_race)
    tables, readings = [], []
    for characteristic, title in CHARACTERISTICS.items():
        groups = labelled[characteristic]
        usable = groups[~groups.isin([MISSING, PREFER_NOT])]
        sizes = usable[keyed.loc[usable.index].notna().all(axis=1)].value_counts()
        large = sorted(sizes[sizes >= MIN_DIF_GROUP].index)
        left_out = sorted(set(sizes.index) - set(large))
        if len(large) < 2:
            readings.append(
                message(
                    gettext_noop(
                        "%(characteristic)s: not enough data for differential item "
                        "functioning (at least two groups of %(minimum)s or more clients with "
                        "complete trust answers are needed)."
                    ),
                    characteristic=title,
                    minimum=str(MIN_DIF_GROUP),
                )
            )
            continue
        frame = keyed.assign(group=groups).dropna()
        frame = frame[frame["group"].isin(large)]
        shuffled = frame.sample(frac=1.0, random_state=DIF_SEED)
        frame = shuffled[shuffled.groupby("group").cumcount() < MAX_DIF_GROUP]
        frame = frame.astype({item: int for item in items})
        result = dif(frame, items, "group", min_group_size=MIN_DIF_GROUP)
        result["item"] = result["item"].map(lambda i: trust.item(i).text.get("en", i))
        settings = result.attrs["purification"]
        result["reference"] = settings["groups"][0]
        moderate, large = settings["score_thresholds"]
        compared = [
            message(gettext_noop("%(group)s (%(clients)s)"), group=g, clients=f"{n:,}")
            for g, n in frame["group"].value_counts().sort_index().items()
        ]
        not_enough = (
            message(gettext_noop("Not enough data for: %(groups)s."), groups=left_out)
            if left_out
            else ""
        )
        in_text = CHARACTERISTICS_IN_TEXT[characteristic]
        tables.append(
            table(
                f"dif_{characteristic}",
                message(
                    gettext_noop(
                        "Trust items by %(characteristic)s: differential item functioning"
                    ),
                    characteristic=in_text,
                ),
                [
                    Column("item", gettext_noop("Item")),
                    N,
                    Column("score_diff_group", gettext_noop("Group")),
                    Column("reference", gettext_noop("Compared with")),
                    Column(
                        "score_diff", gettext_noop("Difference at equal trust (item points)"), "num"
                    ),
                    Column("score_diff_ci", gettext_noop("Difference 95% CI"), "ci"),
                    Column("p_adjusted", gettext_noop("p (any DIF, Holm-adjusted)"), "p"),
                    Column("flag", gettext_noop("Flag")),
                ],
                result,
                note=message(
                    gettext_noop(
                        "Groups compared (clients analysed): %(groups)s. %(not_enough)s "
                        "Difference: how much higher (+) or lower (-) the group answers the "
                        "item than clients of the compared group with the same trust score, "
                        "on the 1-7 answer scale. Flagged when it is at least %(moderate)s "
                        "points (large from %(large)s) and the test is significant at "
                        "%(alpha)s after the Holm correction for the number of items. Ordinal "
                        "logistic regression with a purified matching score; at most "
                        "%(maximum)s clients per group (seeded sample)."
                    ),
                    groups=compared,
                    not_enough=not_enough,
                    moderate=f"{moderate:g}",
                    large=f"{large:g}",
                    alpha=f"{settings['alpha']:g}",
                    maximum=f"{MAX_DIF_GROUP:,}",
                ),
            )
        )
        flagged = result[result["flag"] != "none"]
        for _, row in flagged.iterrows():
            readings.append(
                message(
                    gettext_noop(
                        "Trust item \u201c%(item)s\u201d may work differently by "
                        "%(characteristic)s (%(flag)s DIF): at equal trust, %(group)s clients "
                        "answer it %(points)s points higher than %(reference)s clients. "
                        "Compare groups on this item with care."
                    )
                    if row["score_diff"] > 0
                    else gettext_noop(
                        "Trust item \u201c%(item)s\u201d may work differently by "
                        "%(characteristic)s (%(flag)s DIF): at equal trust, %(group)s clients "
                        "answer it %(points)s points lower than %(reference)s clients. "
                        "Compare groups on this item with care."
                    ),
                    item=row["item"],
                    characteristic=in_text,
                    flag=row["flag"],
                    group=row["score_diff_group"],
                    points=f"{abs(row['score_diff']):.2f}",
                    reference=row["reference"],
                )
            )
    return tables, readings


# --- plain-language readings ------------------------------------------------------------
#
# Readings are written from a page's tables, never from the data behind them, so that the
# protected version of a page (rapport.insights.disclosure) says nothing its blanked tables
# do not show: each disclosure level gets its own readings from its own tables.


def _page(name: str, tables: list[dict[str, Any]], notes: Sequence[str] = ()) -> dict[str, Any]:
    """A page: tables with exact figures, notes that hold at every disclosure level (they
    mention no figure that protection hides), and readings drawn from the tables."""
    return {
        "tables": tables,
        "notes": list(notes),
        "readings": page_readings(name, tables, notes),
    }


def page_readings(name: str, tables: Sequence[Mapping[str, Any]], notes: Sequence[str] = ()):
    """The plain-language readings of page ``name``, from ``tables`` as they will be shown."""
    by_name = {stored["name"]: stored for stored in tables}
    return [*READINGS[name](by_name), *notes]


def _with_care(text: dict[str, Any], *rows: Mapping[str, Any]) -> dict[str, Any]:
    """The message ``text``, flagged when a figure it states rests on 1 to 10 people (exact
    figures only: in the protected version such figures are blank and never stated)."""
    if any(rests_on_small_numbers(row) for row in rows):
        return message(gettext_noop("%(text)s (Small numbers: interpret with care.)"), text=text)
    return text


def _rows(by_name: Mapping[str, Mapping[str, Any]], name: str) -> list[dict[str, Any]]:
    stored = by_name.get(name)
    return list(stored["rows"]) if stored else []


def _instrument_readings(by_name) -> list[dict[str, Any]]:
    readings = []
    for row in _rows(by_name, "reliability"):
        if row.get("alpha") is None:
            continue
        published = row.get("published_alpha")
        figures = {
            "instrument": row["instrument"],
            "level": reliability_level(row["alpha"]),
            "alpha": coefficient(row["alpha"]),
        }
        readings.append(
            _with_care(
                message(
                    gettext_noop(
                        "%(instrument)s answers in this clinic %(level)s (alpha %(alpha)s; "
                        "published %(published)s)."
                    ),
                    **figures,
                    published=coefficient(published),
                )
                if published
                else message(
                    gettext_noop(
                        "%(instrument)s answers in this clinic %(level)s (alpha %(alpha)s)."
                    ),
                    **figures,
                ),
                row,
            )
        )
    for row in _rows(by_name, "published_comparison"):
        if row.get("r") is None or row.get("p_compare") is None:
            continue
        readings.append(
            _with_care(
                message(
                    gettext_noop(
                        "Trust and alliance correlate at r = %(r)s here (published "
                        "%(published)s): not detectably different, so trust is related to, but "
                        "not the same as, alliance."
                    )
                    if row["p_compare"] >= 0.05
                    else gettext_noop(
                        "Trust and alliance correlate at r = %(r)s here (published "
                        "%(published)s): a detectable difference from the published value."
                    ),
                    r=coefficient(row["r"]),
                    published=coefficient(PUBLISHED_TRUST["r_alliance"]),
                ),
                row,
            )
        )
    return readings


def _trust_alliance_readings(by_name) -> list[dict[str, Any]]:
    readings = []
    for row in _rows(by_name, "correlations"):
        is_trust_outcome = (row["x"], row["y"]) == (
            MEASURES["trust_mean"],
            MEASURES["outcome_improvement"],
        )
        if is_trust_outcome and row.get("r") is not None and row.get("n") is not None:
            readings.append(
                _with_care(
                    message(
                        gettext_noop(
                            "Clients who trusted their therapist more improved more on average "
                            "(r = %(r)s, n = %(n)s)."
                        )
                        if row["r"] > 0
                        else gettext_noop(
                            "Clients who trusted their therapist more improved less on average "
                            "(r = %(r)s, n = %(n)s)."
                        ),
                        r=coefficient(row["r"]),
                        n=f"{row['n']:,}",
                    ),
                    row,
                )
            )
    thirds = _rows(by_name, "early_trust_dropout")
    if len(thirds) >= 3 and None not in (thirds[0].get("rate"), thirds[2].get("rate")):
        readings.append(
            _with_care(
                message(
                    gettext_noop(
                        "Clients with the lowest early trust (sessions 1-%(sessions)s) dropped "
                        "out %(lowest)s of the time, against %(highest)s for the highest third."
                    ),
                    sessions=str(data.EARLY_SESSIONS),
                    lowest=f"{100 * thirds[0]['rate']:.0f}%",
                    highest=f"{100 * thirds[2]['rate']:.0f}%",
                ),
                thirds[0],
                thirds[2],
            )
        )
    return readings


def _outcome_readings(by_name) -> list[dict[str, Any]]:
    readings = []
    by_instrument: dict[str, dict[str, dict[str, Any]]] = {}
    for row in _rows(by_name, "reliable_change"):
        by_instrument.setdefault(row["group"], {})[row["category"]] = row
    stated = [CHANGE_LABELS[c] for c in ("recovered", "reliably_improved", "reliably_deteriorated")]
    for title, rows in by_instrument.items():
        used = [rows.get(label, {}) for label in stated]
        recovered, improved, deteriorated = (row.get("rate") for row in used)
        if recovered is None or improved is None or deteriorated is None:
            continue
        readings.append(
            _with_care(
                message(
                    gettext_noop(
                        "%(instrument)s: %(improved)s of closed episodes improved reliably "
                        "(%(recovered)s also recovered) and %(deteriorated)s deteriorated "
                        "reliably."
                    ),
                    instrument=title,
                    improved=f"{100 * (recovered + improved):.0f}%",
                    recovered=f"{100 * recovered:.0f}%",
                    deteriorated=f"{100 * deteriorated:.0f}%",
                ),
                *used,
            )
        )
    completion = _rows(by_name, "checkin_completion")
    overall = completion[-1] if completion else None
    if overall is not None and overall.get("rate") is not None and overall.get("n") is not None:
        readings.append(
            _with_care(
                message(
                    gettext_noop(
                        "Clients completed %(rate)s of the check-ins they were offered (n = %(n)s)."
                    ),
                    rate=f"{100 * overall['rate']:.0f}%",
                    n=f"{overall['n']:,}",
                ),
                overall,
            )
        )
    return readings


def _equity_readings(by_name) -> list[dict[str, Any] | str]:
    readings = []
    compared = hidden = False
    for index, title in enumerate(EQUITY_OUTCOMES.values()):
        for row in _rows(by_name, f"equity_{index}"):
            compared = True
            low, high = row.get("diff_ci_low"), row.get("diff_ci_high")
            if row.get("difference") is None or low is None or high is None:
                hidden = hidden or bool(row.get("suppressed"))
                continue
            if low > 0 or high < 0:
                readings.append(
                    _with_care(
                        message(
                            gettext_noop(
                                "%(outcome)s: %(group)s differs from %(reference)s by "
                                "%(difference)s (95%% CI %(low)s to %(high)s)."
                            ),
                            outcome=title,
                            group=row["group"],
                            reference=row["reference"],
                            difference=f"{row['difference']:+.2f}",
                            low=f"{low:+.2f}",
                            high=f"{high:+.2f}",
                        ),
                        row,
                    )
                )
    if compared and not readings:
        readings.append(
            gettext_noop(
                "No group's figures differ detectably from its reference group (every 95% "
                "interval of the difference includes zero)."
            )
            if not hidden
            else gettext_noop(
                "No group shown differs detectably from its reference group (every 95% "
                "interval of the difference shown includes zero); suppressed groups are not "
                "compared here."
            )
        )
    return readings


READINGS = {
    "instruments": _instrument_readings,
    "trust_alliance": _trust_alliance_readings,
    "outcomes": _outcome_readings,
    "equity": _equity_readings,
}


# --- everything ----------------------------------------------------------------------------


def therapist_pseudonyms(therapist_ids: Iterable[int]) -> dict[int, str]:
    """Stable labels ("Therapist 1", ...) by account id: names are added only for staff views.

    Numbered over every therapist of the clinic (not of a filtered view), so a
    therapist keeps their label whatever the filter.
    """
    return {
        int(t): message(gettext_noop("Therapist %(number)s"), number=str(i))
        for i, t in enumerate(sorted(set(therapist_ids)), 1)
    }


def episode_measures(
    episodes: pd.DataFrame,
    summaries: Mapping[str, pd.DataFrame],
    instruments: Sequence[Instrument],
    registry: Registry,
) -> pd.DataFrame:
    """``episodes`` with trust, alliance and openness (first, mean, early) and outcome change.

    ``outcome_improvement`` is first minus last score of the primary outcome measure (sign
    turned so that positive is better) for episodes with at least two scores.
    """
    by_construct: dict[str, Instrument] = {}
    for instrument in instruments:
        by_construct.setdefault(instrument.construct, instrument)
    per_episode = episodes.set_index("episode", drop=False)
    for construct in ("trust", "alliance", "openness"):
        instrument = by_construct.get(construct)
        summary = summaries[instrument.id] if instrument else data.episode_summaries(pd.DataFrame())
        for statistic in ("first", "mean", "early"):
            column = summary[statistic].reindex(per_episode.index).astype(float)
            per_episode[f"{construct}_{statistic}"] = column
    primary = primary_outcome(summaries, instruments)
    if primary is not None:
        summary = summaries[primary]
        usable = summary[summary["n"] >= 2]
        improvement = usable["first"] - usable["last"]
        if registry[primary].higher_is_better:
            improvement = -improvement
        per_episode["outcome_improvement"] = improvement.reindex(per_episode.index).astype(float)
    else:
        per_episode["outcome_improvement"] = np.nan
    return per_episode.reset_index(drop=True)


def primary_outcome(
    summaries: Mapping[str, pd.DataFrame], instruments: Sequence[Instrument]
) -> str | None:
    """The outcome measure the pages lead with: PHQ-9 where the clinic uses it, else its
    first outcome instrument, else None."""
    if PRIMARY_OUTCOME in summaries:
        return PRIMARY_OUTCOME
    return next((i.id for i in instruments if i.construct == "outcome"), None)


@dataclass
class EpisodeReading:
    """What the insights read from the database: the clinic's instruments in page order,
    their administrations, the episodes and each episode's measures
    (:func:`episode_measures`)."""

    registry: Registry
    administrations: data.Administrations
    instruments: list[Instrument]
    summaries: dict[str, pd.DataFrame]
    episodes: pd.DataFrame
    per_episode: pd.DataFrame


def _items(
    instruments: Iterable[Instrument], constructs: Collection[str] | None
) -> dict[str, Sequence[str]]:
    """Item ids by instrument id, of the ``instruments`` measuring ``constructs`` (None:
    all)."""
    return {
        i.id: i.item_ids for i in instruments if constructs is None or i.construct in constructs
    }


def read_episode_measures(
    organisation: Organisation,
    scope: InsightScope = WHOLE_CLINIC,
    answered: Collection[str] | None = None,
) -> EpisodeReading:
    """Read the episodes in ``scope`` and summarise their measures (one pass).

    ``answered``: the constructs whose instruments' first item answers are read along
    (on PostgreSQL; :func:`rapport.insights.data.administrations`), None for all.
    """
    registry = installed_instruments()
    administrations = data.administrations(
        organisation,
        _items(registry.values(), answered),
        scope,
    )
    instruments = sorted(
        (registry[i] for i in administrations.summaries if i in registry),
        key=_instrument_sort_key,
    )
    episodes = data.episodes(organisation, scope)
    summaries = {i.id: administrations.summaries[i.id] for i in instruments}
    per_episode = episode_measures(episodes, summaries, instruments, registry)
    return EpisodeReading(registry, administrations, instruments, summaries, episodes, per_episode)


# The pages in the order the site lists them.
PAGE_NAMES = ("instruments", "trust_alliance", "outcomes", "equity")


def _answered_constructs(pages: Collection[str]) -> set[str] | None:
    """The constructs whose item answers ``pages`` need (None: every instrument's):
    instrument health reads every instrument's, equity the trust scale's (DIF)."""
    if "instruments" in pages:
        return None
    return {"trust"} if "equity" in pages else set()


def compute(
    organisation: Organisation,
    scope: InsightScope = WHOLE_CLINIC,
    pages: Collection[str] = PAGE_NAMES,
) -> dict[str, Any]:
    """The insight pages of ``organisation`` as JSON-ready dicts (see the module
    docstring), over the episodes in ``scope`` (default: the whole clinic): all four, or
    the ``pages`` named (:data:`PAGE_NAMES`)."""
    return compute_with_measures(organisation, scope, pages)[0]


def compute_with_measures(
    organisation: Organisation,
    scope: InsightScope = WHOLE_CLINIC,
    pages: Collection[str] = PAGE_NAMES,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`compute`, and the per-episode measures it started from
    (:func:`episode_measures`), so that further figures over the same episodes (the
    therapist profiles' fits) need not read the database again.

    Only what the named ``pages`` show is read and computed: a page asked for alone costs
    what that page costs, whatever the others would.
    """
    unknown = sorted(set(pages) - set(PAGE_NAMES))
    if unknown or not pages:
        raise ValueError(
            f"pages must name some of {', '.join(PAGE_NAMES)}; got {', '.join(unknown) or 'none'}"
        )
    started = time.perf_counter()
    answered = _answered_constructs(pages)
    reading = read_episode_measures(organisation, scope, answered)
    registry, administrations = reading.registry, reading.administrations
    instruments, summaries = reading.instruments, reading.summaries
    episodes, per_episode = reading.episodes, reading.per_episode
    by_construct = {}
    for instrument in instruments:
        by_construct.setdefault(instrument.construct, instrument)

    answers = data.all_first_answers(
        organisation,
        _items(instruments, answered),
        administrations,
        scope,
    )
    trust = by_construct.get("trust")
    built: dict[str, Any] = {}
    if "instruments" in pages:
        first_scores = per_episode.rename(
            columns={"trust_first": "trust", "alliance_first": "alliance"}
        )
        built["instruments"] = instrument_health(instruments, answers, first_scores)
    if "trust_alliance" in pages:
        built["trust_alliance"] = trust_alliance(per_episode)
    if "outcomes" in pages:
        built["outcomes"] = outcomes(
            per_episode,
            summaries,
            instruments,
            administrations.status_counts,
            therapist_pseudonyms(
                Episode.objects.filter(client__organisation=organisation)
                .values_list("therapist_id", flat=True)
                .distinct()
            ),
        )
        primary = primary_outcome(summaries, instruments)
        built["outcomes"]["tables"].append(
            monthly_outcomes(
                per_episode,
                summaries.get(primary) if primary else None,
                registry[primary] if primary else None,
            )
        )
    if "equity" in pages:
        trust_items = None
        if trust is not None:
            demographics_by_client = episodes.drop_duplicates("client").set_index("client")
            trust_items = (
                answers[trust.id]
                .set_index("client")
                .join(demographics_by_client[["race_ethnicity", "gender", "language", "age_band"]])
            )
        built["equity"] = equity_page(per_episode, trust_items, trust)
    return {
        "schema": SCHEMA,
        "clients": int(episodes["client"].nunique()),
        "episodes": len(episodes),
        "pages": {name: built[name] for name in PAGE_NAMES if name in built},
        "seconds": time.perf_counter() - started,
    }, per_episode
