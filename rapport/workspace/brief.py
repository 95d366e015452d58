"""The pre-session brief: what changed, what is open, what the client wrote, what to try.

The conversation suggestions are shown only when trust or the alliance fell (or a trust
or rupture flag is open). They are written for this project from the rupture-repair and
immediacy literature; docs/brief.md gives the sources and what each suggestion rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

from rapport.alerts import FlagKind
from rapport.security.access import RELATIONSHIP_CONSTRUCTS
from rapport.workspace.client_record import EpisodeView, InstrumentPanel, ItemMove


@dataclass(frozen=True)
class Suggestion:
    text: str
    sources: str  # short citation; full references in docs/brief.md


# Plain, non-judgemental, and about the relationship rather than the client's symptoms.
RELATIONSHIP_SUGGESTIONS = (
    Suggestion(
        "Raise it early and lightly: “Your answers about how our sessions feel changed "
        "this time. Could we take a few minutes on that?” Then ask what the client "
        "noticed, before offering your own view.",
        "Safran & Muran 2000; Hill & Knox 2009",
    ),
    Suggestion(
        "Listen for what was missing or unhelpful and reflect it back without explaining "
        "or defending the approach; disagreement said out loud is useful information, "
        "not a problem to fix.",
        "Safran & Muran 2000; Eubanks, Muran & Safran 2018",
    ),
    Suggestion(
        "Where it fits, acknowledge your own part (“I think I pushed on that too quickly”) "
        "without over-apologising; owning a share makes it easier for the client to say "
        "more.",
        "Safran & Muran 2000; Eubanks, Muran & Safran 2018",
    ),
    Suggestion(
        "Check that you still agree on the goals, the tasks and the pace of therapy, and "
        "agree one small change to try.",
        "Bordin 1979; Eubanks, Muran & Safran 2018",
    ),
    Suggestion(
        "Close the loop: ask how this conversation felt, thank the client for honest "
        "answers — critical ones included — and look at the next check-in together.",
        "Hill & Knox 2009; Flückiger et al. 2018",
    ),
)


@dataclass
class Brief:
    view: EpisodeView
    changes: list[str]
    moved_items: list[tuple[InstrumentPanel, ItemMove]]
    relationship_fell: bool

    @property
    def suggestions(self) -> tuple[Suggestion, ...]:
        return RELATIONSHIP_SUGGESTIONS if self.relationship_fell else ()


def build_brief(view: EpisodeView, max_items: int = 5) -> Brief:
    panels = view.panels
    relationship = [p for p in panels if p.instrument.construct in RELATIONSHIP_CONSTRUCTS]
    open_kinds = {flag.kind for flag in view.open_flags}
    fell = any(p.fell for p in relationship if p.instrument.construct != "openness") or bool(
        open_kinds & {FlagKind.RUPTURE, FlagKind.TRUST}
    )
    moved = sorted(
        (
            (panel, item)
            for panel in panels
            if panel.previous is not None
            for item in panel.items
            if item.moved
        ),
        key=lambda pair: -abs(pair[1].change or 0),
    )
    return Brief(
        view=view,
        changes=[panel.change_sentence() for panel in panels],
        moved_items=moved[:max_items],
        relationship_fell=fell,
    )
