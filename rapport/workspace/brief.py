"""The pre-session brief: safety first, then what changed, what the client wrote, what to try.

Every sentence says what the data shows: "Trust is low: 3.8 of 7" is not "trust fell",
and the relationship section names which of the two it is. When a safety flag or a
"risk reviewed" marker is open, safety guidance comes before anything else. Sources are
cited in the page as author, year and title (:data:`REFERENCES`); docs/brief.md says
what each suggestion rests on.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from rapport.alerts import FlagKind, FlagRules
from rapport.security.access import RELATIONSHIP_CONSTRUCTS
from rapport.workspace.charts import fmt
from rapport.workspace.client_record import EpisodeView, InstrumentPanel, ItemMove
from rapport.workspace.flags import RiskMarker, ShownFlag
from rapport.workspace.records import flag_rules


@dataclass(frozen=True)
class Reference:
    """A source as the page cites it: "Safran & Muran 2000" in the text, in full below."""

    key: str
    authors: str
    year: int
    title: str
    published_in: str

    @property
    def citation(self) -> str:
        return f"{self.authors} ({self.year}). {self.title}. {self.published_in}."


REFERENCES = {
    reference.key: reference
    for reference in (
        Reference(
            "Bordin 1979",
            "Bordin, E. S.",
            1979,
            "The generalizability of the psychoanalytic concept of the working alliance",
            "Psychotherapy: Theory, Research & Practice, 16(3), 252\u2013260",
        ),
        Reference(
            "Dazzi et al. 2014",
            "Dazzi, T., Gribble, R., Wessely, S., & Fear, N. T.",
            2014,
            "Does asking about suicide and related behaviours induce suicidal ideation? "
            "What is the evidence?",
            "Psychological Medicine, 44(16), 3361\u20133363",
        ),
        Reference(
            "Eubanks, Muran & Safran 2018",
            "Eubanks, C. F., Muran, J. C., & Safran, J. D.",
            2018,
            "Alliance rupture repair: A meta-analysis",
            "Psychotherapy, 55(4), 508\u2013519",
        ),
        Reference(
            "Flückiger et al. 2018",
            "Flückiger, C., Del Re, A. C., Wampold, B. E., & Horvath, A. O.",
            2018,
            "The alliance in adult psychotherapy: A meta-analytic synthesis",
            "Psychotherapy, 55(4), 316\u2013340",
        ),
        Reference(
            "Hill & Knox 2009",
            "Hill, C. E., & Knox, S.",
            2009,
            "Processing the therapeutic relationship",
            "Psychotherapy Research, 19(1), 13\u201329",
        ),
        Reference(
            "Safran & Muran 2000",
            "Safran, J. D., & Muran, J. C.",
            2000,
            "Negotiating the therapeutic alliance: A relational treatment guide",
            "New York: Guilford Press",
        ),
        Reference(
            "Stanley & Brown 2012",
            "Stanley, B., & Brown, G. K.",
            2012,
            "Safety Planning Intervention: A brief intervention to mitigate suicide risk",
            "Cognitive and Behavioral Practice, 19(2), 256\u2013264",
        ),
    )
}


@dataclass(frozen=True)
class Suggestion:
    text: str | Promise
    sources: tuple[str, ...] = ()  # keys of REFERENCES

    def __post_init__(self) -> None:
        unknown = [key for key in self.sources if key not in REFERENCES]
        if unknown:
            raise ValueError(f"suggestion cites {unknown[0]!r}, which is not in REFERENCES")

    @property
    def cited(self) -> str:
        return "; ".join(self.sources)


# Plain, non-judgemental, and about the relationship rather than the client's symptoms.
RELATIONSHIP_SUGGESTIONS = (
    Suggestion(
        gettext_lazy(
            "Raise it early and lightly: “Your answers about how our sessions feel changed "
            "this time. Could we take a few minutes on that?” Then ask what the client "
            "noticed, before offering your own view."
        ),
        ("Safran & Muran 2000", "Hill & Knox 2009"),
    ),
    Suggestion(
        gettext_lazy(
            "Listen for what was missing or unhelpful and reflect it back without explaining "
            "or defending the approach; disagreement said out loud is useful information, "
            "not a problem to fix."
        ),
        ("Safran & Muran 2000", "Eubanks, Muran & Safran 2018"),
    ),
    Suggestion(
        gettext_lazy(
            "Where it fits, acknowledge your own part (“I think I pushed on that too "
            "quickly”) without over-apologising; owning a share makes it easier for the "
            "client to say more."
        ),
        ("Safran & Muran 2000", "Eubanks, Muran & Safran 2018"),
    ),
    Suggestion(
        gettext_lazy(
            "Check that you still agree on the goals, the tasks and the pace of therapy, and "
            "agree one small change to try."
        ),
        ("Bordin 1979", "Eubanks, Muran & Safran 2018"),
    ),
    Suggestion(
        gettext_lazy(
            "Close the loop: ask how this conversation felt, thank the client for honest "
            "answers — critical ones included — and look at the next check-in together."
        ),
        ("Hill & Knox 2009", "Flückiger et al. 2018"),
    ),
)

# What to do first when a risk answer is open or still endorsed. The clinic's own risk
# protocol decides what happens next; Rapport only points to it.
SAFETY_GUIDANCE = (
    Suggestion(
        gettext_lazy(
            "Review the answer with the client early in the session: ask directly what they "
            "meant, how often and how strongly, and whether there are plans or intent. "
            "Asking about suicidal thoughts does not put them there."
        ),
        ("Dazzi et al. 2014",),
    ),
    Suggestion(
        gettext_lazy(
            "Follow your clinic's risk protocol for what you find (who to tell, when, and "
            "what to record), and record the review on the client page."
        ),
    ),
    Suggestion(
        gettext_lazy(
            "Review and update the client's safety plan together: warning signs, their own "
            "ways of coping, people and places that help, professional and crisis "
            "contacts, and making lethal means less available."
        ),
        ("Stanley & Brown 2012",),
    ),
)


# What to do first when an answer about safety with the therapist is open ("I felt safe
# with my therapist in the last session": disagree). Someone other than the therapist
# hears the client.
RELATIONSHIP_SAFETY_GUIDANCE = (
    Suggestion(
        gettext_lazy(
            "This answer is about how safe the client feels with their therapist, so "
            "someone other than the therapist follows it up: the therapist's supervisor "
            "contacts the client, hears what happened and records the follow-up on the "
            "client page."
        ),
    ),
    Suggestion(
        gettext_lazy(
            "Follow your clinic's procedure for concerns about a clinician or about the care "
            "a client receives, and its safeguarding procedure if the client may be at risk "
            "of harm."
        ),
    ),
)


@dataclass
class SafetyBrief:
    """The risk answers that put safety first: open safety flags and risk markers, with
    the guidance that fits them (symptom risk, safety with the therapist, or both)."""

    flags: list[ShownFlag]
    markers: list[RiskMarker]

    @property
    def guidance(self) -> tuple[Suggestion, ...]:
        about = [flag.about_the_relationship for flag in self.flags]
        about += [marker.about_the_relationship for marker in self.markers]
        return (SAFETY_GUIDANCE if not all(about) else ()) + (
            RELATIONSHIP_SAFETY_GUIDANCE if any(about) else ()
        )


@dataclass
class Brief:
    view: EpisodeView
    changes: list[str]
    moved_items: list[tuple[InstrumentPanel, ItemMove]]
    relationship_fell: bool
    # What the trust and alliance scores show, one sentence each (low, or fell by how much).
    relationship_findings: list[str]
    safety: SafetyBrief | None = None

    @property
    def suggestions(self) -> tuple[Suggestion, ...]:
        return RELATIONSHIP_SUGGESTIONS if self.relationship_fell else ()

    @property
    def other_flags(self) -> list[ShownFlag]:
        """The open flags the safety section does not already show."""
        shown = self.safety.flags if self.safety else []
        return [flag for flag in self.view.open_flags if flag not in shown]

    @property
    def references(self) -> list[Reference]:
        """The sources the suggestions shown on this brief cite, by first author."""
        shown = [*self.suggestions, *(self.safety.guidance if self.safety else ())]
        keys = {key for suggestion in shown for key in suggestion.sources}
        return sorted((REFERENCES[key] for key in keys), key=lambda ref: ref.citation)


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
    safety_flags = [flag for flag in view.open_flags if flag.kind == FlagKind.SAFETY]
    safety = SafetyBrief(safety_flags, view.markers) if safety_flags or view.markers else None
    return Brief(
        view=view,
        changes=[panel.change_sentence() for panel in panels],
        moved_items=moved[:max_items],
        relationship_fell=fell,
        relationship_findings=relationship_findings(view, flag_rules()) if fell else [],
        safety=safety,
    )


def relationship_findings(view: EpisodeView, rules: FlagRules) -> list[str]:
    """What the trust and alliance scores show, in one sentence each, after the client's
    own request to talk about how therapy is going when one is open.

    A fall since the previous check-in says from what to what ("Trust fell from 5.5 to
    3.9 of 7 between sessions 4 and 5."); a low score that did not fall says so ("Trust
    is low: 3.8 of 7 at session 5."); an alliance below its recent level without a fall
    from the last score says that. Scores the user may not see are not there to describe.
    """
    findings = []
    if any(flag.talk_request is not None for flag in view.open_flags):
        # The client's own word comes before what the scores show.
        findings.append(_("The client asked to talk about how therapy is going."))
    rupture = next(
        (f for f in view.open_flags if f.kind == FlagKind.RUPTURE and f.talk_request is None),
        None,
    )
    for instrument_id, name, low in (
        (rules.trust_instrument, _("Trust"), _trust_is_low(rules)),
        (rules.rupture_instrument, _("The alliance"), _alliance_is_low),
    ):
        panel = view.panel(instrument_id)
        if panel is None or panel.latest is None or panel.latest.total is None:
            continue
        latest = panel.latest
        scale_top = fmt(panel.instrument.score_range[1])
        if panel.fell:
            findings.append(
                _(
                    "%(name)s fell from %(before)s to %(after)s of %(top)s between sessions "
                    "%(first)d and %(second)d."
                )
                % {
                    "name": name,
                    "before": fmt(panel.previous.total),
                    "after": fmt(latest.total),
                    "top": scale_top,
                    "first": panel.previous.session,
                    "second": latest.session,
                }
            )
        elif low(panel):
            findings.append(
                _("%(name)s is low: %(score)s of %(top)s at session %(session)d.")
                % {
                    "name": name,
                    "score": fmt(latest.total),
                    "top": scale_top,
                    "session": latest.session,
                }
            )
        elif instrument_id == rules.rupture_instrument and rupture and "level" in rupture.details:
            findings.append(
                _(
                    "%(name)s is %(score)s of %(top)s at session %(session)d, below its recent "
                    "level of %(level)s."
                )
                % {
                    "name": name,
                    "score": fmt(latest.total),
                    "top": scale_top,
                    "session": latest.session,
                    "level": fmt(round(rupture.details["level"], 1)),
                }
            )
    return findings


def _trust_is_low(rules: FlagRules):
    return lambda panel: panel.latest.total <= rules.trust_low


def _alliance_is_low(panel: InstrumentPanel) -> bool:
    return panel.instrument.is_clinical(panel.latest.total)
