"""The access layer: the one place that decides which records a staff member may see.

Four questions, answered here and nowhere else:

1. **Who may reach a view at all?** Every view is staff-only and needs a completed
   second sign-in step (MFA) unless it is marked :func:`public` (sign-in page, check-in
   links) or :func:`before_mfa` (the MFA pages and sign-out). The marker is read by
   :class:`rapport.security.middleware.StaffGateMiddleware`, so a new view is protected
   without doing anything; opening one up takes a visible decorator.
2. **What may this role do?** :data:`ROLE_PERMISSIONS` is the role x permission matrix;
   :func:`require_permission` raises ``PermissionDenied`` (403) for the wrong role. The
   check does not look at any record, so a 403 never reveals whether a record exists.
3. **Which records exist for this user?** The ``*_for(user)`` querysets are already
   limited to the user's organisation and role. View helpers (``get_*_or_404``) load one
   record by its public UUID *within* that scope, so records of another therapist or
   another clinic answer 404 exactly like ids that were never issued, and they write the
   one audit entry for the read.
4. **Which promises hold for every channel?** Relationship answers that clients were
   told only supervisors read (:func:`may_see_relationship_answers`,
   :func:`without_hidden_answers`), a client's request to talk about how therapy is going
   (:func:`may_see_talk_request`), who follows up an alert and reads how it was
   followed up (:func:`may_follow_up`) and client identities (:func:`may_see_identity`):
   pages, the brief, the PDF report, the API, the FHIR export and the check-in's own
   statements all ask these functions (docs/security.md, section 12); whether insight
   figures are exact or small-cell protected is :func:`insight_disclosure`'s decision.
   What a client may see of their own results: :func:`client_progress_constructs`.

Clinic admins manage accounts and settings and see no identified clinical data; they and
researchers get aggregates only (see docs/security.md, "Who sees what").
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db.models import Model, Q, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_noop

from rapport.accounts.models import Role, User
from rapport.checkin.models import Alert
from rapport.clinic.models import (
    Administration,
    Client,
    ClientProgress,
    Episode,
    EpisodeStatus,
    Handover,
    Organisation,
    Session,
    Site,
    TrustAnswersAudience,
)
from rapport.core.instruments import answer_about_the_relationship
from rapport.core.instruments import instruments as installed_instruments
from rapport.insights.scope import WHOLE_CLINIC, InsightScope
from rapport.instruments import Instrument, Registry
from rapport.instruments.model import CONSTRUCTS, RELATIONSHIP_CONSTRUCTS
from rapport.security import audit

# --- 1. Which views are open before sign-in or before MFA -------------------------------

ACCESS_ATTRIBUTE = "rapport_access"
PUBLIC = "public"
BEFORE_MFA = "before_mfa"

View = TypeVar("View", bound=Callable)
M = TypeVar("M", bound=Model)


def public(view: View) -> View:
    """Mark a view as reachable without signing in (sign-in page, check-in links).

    Such a view must not show staff or clinical data beyond what its own token grants.
    """
    setattr(view, ACCESS_ATTRIBUTE, PUBLIC)
    return view


def before_mfa(view: View) -> View:
    """Mark a view as reachable after the password step but before the MFA step.

    Only for the MFA enrolment/verification pages and sign-out.
    """
    setattr(view, ACCESS_ATTRIBUTE, BEFORE_MFA)
    return view


def view_access(view: Callable) -> str:
    """How open ``view`` is: ``public``, ``before_mfa`` or ``staff`` (the default)."""
    return getattr(view, ACCESS_ATTRIBUTE, "staff")


# --- 2. Role x permission matrix --------------------------------------------------------

# Read identified clinical records (clients, episodes, sessions, answers).
READ_CLINICAL = "clinical.read"
# Read a client's names, contact details and date of birth: the treating therapist, who
# contacts the client; supervisors review care by record number.
READ_IDENTITY = "identity.read"
# Change a client's care and record (intake, plan, sessions, attendance, contact details,
# end of care): the therapist who treats the client; supervisors review.
CHANGE_CARE = "care.change"
# Read relationship answers that the clinic or the questionnaire keeps for supervisors
# only (see :func:`may_see_relationship_answers`).
READ_SUPERVISOR_ONLY_ANSWERS = "answers.read_supervisors_only"
# See the supervisor's team view: the therapists one supervises and their caseloads.
READ_TEAM = "team.read"
# Manage staff accounts and clinic settings.
MANAGE_CLINIC = "clinic.manage"
# See de-identified, small-cell-suppressed aggregates.
READ_AGGREGATES = "aggregates.read"

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    Role.THERAPIST: frozenset({READ_CLINICAL, READ_IDENTITY, CHANGE_CARE}),
    Role.SUPERVISOR: frozenset(
        {READ_CLINICAL, READ_SUPERVISOR_ONLY_ANSWERS, READ_TEAM, READ_AGGREGATES}
    ),
    Role.CLINIC_ADMIN: frozenset({MANAGE_CLINIC, READ_AGGREGATES}),
    Role.RESEARCHER: frozenset({READ_AGGREGATES}),
}
PERMISSIONS = frozenset(
    {
        READ_CLINICAL,
        READ_IDENTITY,
        CHANGE_CARE,
        READ_SUPERVISOR_ONLY_ANSWERS,
        READ_TEAM,
        MANAGE_CLINIC,
        READ_AGGREGATES,
    }
)

# A role added to the model without a row here would silently get nothing, and a typo in
# a row would grant a permission nobody checks; fail at import.
if set(ROLE_PERMISSIONS) != set(Role.values):
    raise RuntimeError("ROLE_PERMISSIONS must list every Role exactly once")
if frozenset().union(*ROLE_PERMISSIONS.values()) - PERMISSIONS:
    raise RuntimeError("ROLE_PERMISSIONS grants a permission that PERMISSIONS does not name")


def has_permission(user: User | AnonymousUser, permission: str) -> bool:
    """Whether ``user``'s role carries ``permission``; unknown permission names raise."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}; known: {sorted(PERMISSIONS)}")
    if not user.is_authenticated or not user.is_active or user.organisation_id is None:
        return False
    return permission in ROLE_PERMISSIONS.get(user.role, frozenset())


def require_permission(user: User | AnonymousUser, permission: str) -> None:
    """Raise ``PermissionDenied`` (403) unless ``user``'s role carries ``permission``."""
    if not has_permission(user, permission):
        raise PermissionDenied


# --- 3. Scoped querysets ----------------------------------------------------------------


def episodes_for(user: User) -> QuerySet[Episode]:
    """Episodes whose clinical details ``user`` may see.

    Therapists see their own caseload, supervisors the caseloads of the therapists they
    supervise; other roles see no identified clinical records.
    """
    if not has_permission(user, READ_CLINICAL):
        return Episode.objects.none()
    episodes = Episode.objects.filter(client__organisation_id=user.organisation_id)
    if user.role == Role.THERAPIST:
        return episodes.filter(therapist=user)
    if user.role == Role.SUPERVISOR:
        return episodes.filter(therapist__supervisor=user)
    return episodes.none()


def active_caseload(user: User) -> QuerySet[Episode]:
    return episodes_for(user).filter(status=EpisodeStatus.ACTIVE)


def closed_episodes(user: User) -> QuerySet[Episode]:
    """The closed episodes ``user`` may see, most recently ended first."""
    return (
        episodes_for(user)
        .filter(status=EpisodeStatus.CLOSED)
        .select_related("client", "therapist")
        .order_by("-ended_on", "-pk")
    )


def clients_for(user: User) -> QuerySet[Client]:
    """Clients with at least one episode that ``user`` may see."""
    if not has_permission(user, READ_CLINICAL):
        return Client.objects.none()
    return Client.objects.filter(
        organisation_id=user.organisation_id,
        pk__in=episodes_for(user).values("client_id"),
    )


# --- 4. Promises: who reads relationship answers and identities ----------------------

# Questionnaires about the therapy relationship rather than symptoms
# (RELATIONSHIP_CONSTRUCTS). A client may be told that only supervisors read these (the
# check-in's "who sees these answers" statement).
SUPERVISORS_AUDIENCE = "supervisors"


def relationship_answers_for_supervisors_only(
    instrument: Instrument, organisation: Organisation
) -> bool:
    """Whether clients of ``organisation`` are told only supervisors read ``instrument``'s answers.

    The stricter of the instrument's own ``audience`` and the clinic's
    ``trust_answers_audience`` wins; symptom questionnaires are never restricted. The
    check-in statement (:mod:`rapport.checkin.screens`) and every staff channel read this
    one decision, so what clients are told and what staff see cannot drift apart.
    """
    if instrument.construct not in RELATIONSHIP_CONSTRUCTS:
        return False
    return (
        instrument.audience == SUPERVISORS_AUDIENCE
        or organisation.trust_answers_audience == TrustAnswersAudience.SUPERVISORS
    )


def may_see_relationship_answers(
    user: User, instrument: Instrument, organisation: Organisation
) -> bool:
    """Whether ``user`` may see answers and scores of ``instrument`` at ``organisation``.

    Restricted answers (:func:`relationship_answers_for_supervisors_only`) need
    ``answers.read_supervisors_only``, which the treating therapist does not have. Which
    clients' records ``user`` may see at all is decided by the scoped querysets.
    """
    return not relationship_answers_for_supervisors_only(
        instrument, organisation
    ) or has_permission(user, READ_SUPERVISOR_ONLY_ANSWERS)


def hidden_instrument_ids(user: User, registry: Registry | None = None) -> frozenset[str]:
    """Ids of the installed instruments whose answers ``user`` must not see.

    An id is hidden when any installed version of it is, so a version change never opens
    answers that were closed. ``registry`` defaults to the installation's instruments.
    """
    registry = installed_instruments() if registry is None else registry
    return frozenset(
        instrument.id
        for instrument in registry.all_versions()
        if not may_see_relationship_answers(user, instrument, user.organisation)
    )


def without_hidden_answers(
    user: User, administrations: QuerySet[Administration], registry: Registry | None = None
) -> QuerySet[Administration]:
    """``administrations`` without those whose answers ``user`` must not see.

    The queryset form of :func:`may_see_relationship_answers`, for every channel that
    reads administrations (pages, API, exports). Under the clinic's "supervisors only"
    setting it also drops relationship administrations of instruments no longer
    installed, whose audience cannot be read. A role without ``clinical.read`` (and an
    anonymous user) sees no answers at all.
    """
    if not has_permission(user, READ_CLINICAL):
        return administrations.none()
    if has_permission(user, READ_SUPERVISOR_ONLY_ANSWERS):
        return administrations
    hidden = Q(instrument_id__in=hidden_instrument_ids(user, registry))
    if user.organisation.trust_answers_audience == TrustAnswersAudience.SUPERVISORS:
        hidden |= Q(construct__in=RELATIONSHIP_CONSTRUCTS)
    return administrations.exclude(hidden)


def without_hidden_alerts(
    user: User,
    alerts: QuerySet[Alert],
    hidden: Collection[str] | None = None,
    registry: Registry | None = None,
) -> QuerySet[Alert]:
    """``alerts`` without those raised by answers hidden from ``user``: an alert on a
    critical item says what the answer was, so it is hidden wherever the answer is
    (:func:`without_hidden_answers`). ``hidden``: :func:`hidden_instrument_ids`, for
    loaders that already hold it. Under the clinic's "supervisors only" setting, alerts
    of relationship questionnaires no longer installed go too (the alert keeps its
    construct). Everything that is not a loader calls :func:`visible_alerts`."""
    if has_permission(user, READ_SUPERVISOR_ONLY_ANSWERS):
        return alerts
    registry = installed_instruments() if registry is None else registry
    hidden = hidden_instrument_ids(user, registry) if hidden is None else hidden
    codes = {
        code
        for instrument in registry.all_versions()
        if instrument.id in hidden
        for critical in instrument.critical_items
        for code in (critical.flag, critical.missing_flag)
    }
    excluded = Q(code__in=codes)
    if user.organisation.trust_answers_audience == TrustAnswersAudience.SUPERVISORS:
        excluded |= Q(construct__in=RELATIONSHIP_CONSTRUCTS)
    return alerts.exclude(excluded)


def visible_alerts(user: User, alerts: QuerySet[Alert] | None = None) -> QuerySet[Alert]:
    """The alerts ``user`` may know of: those of episodes in their scope, except alerts
    raised by answers hidden from them (:func:`may_see_relationship_answers`).

    The one rule for every channel that lists alerts: the client page, caseload, brief
    and PDF report (through :func:`without_hidden_alerts` in the episode records), the
    worklist, the team page and the API. A therapist at a clinic that keeps relationship
    answers for supervisors never learns that such an answer raised an alert.
    """
    alerts = Alert.objects.all() if alerts is None else alerts
    if not has_permission(user, READ_CLINICAL):
        return alerts.none()
    return without_hidden_alerts(user, alerts.filter(episode__in=episodes_for(user)))


def may_follow_up(user: User | AnonymousUser, concerning: Alert | str) -> bool:
    """Whether ``user`` may record how an alert was followed up, and read that record (how
    the client was reached, what was found, the notes), for an episode they may open.
    ``concerning``: the alert, or the critical code (``critical:trust_safe``) of a safety
    answer shown before it has raised one.

    A critical answer on a relationship questionnaire ("I felt safe with my therapist
    today": disagree) is about the treating therapist, so their supervisor follows it up
    and alone reads the record; a therapist who may see the answer reads only that it
    was followed up, by whom and when. Every other alert is followed up by the treating
    therapist or their supervisor, and both read the record (docs/safety.md). The one rule
    for the forms, :mod:`rapport.checkin.acknowledgement`, the client page, the team
    page and the PDF report.
    """
    if isinstance(concerning, Alert):
        relationship = concerning.about_the_relationship
    else:
        relationship = answer_about_the_relationship(concerning)
    if relationship:
        return has_permission(user, READ_SUPERVISOR_ONLY_ANSWERS)
    return has_permission(user, READ_CLINICAL)


def administrations_for(user: User) -> QuerySet[Administration]:
    """Administrations at sessions in ``user``'s scope, without answers hidden from them."""
    administrations = Administration.objects.filter(session__episode__in=episodes_for(user))
    return without_hidden_answers(user, administrations)


# What a client may be shown of their own results ("Your progress", "review together").
SYMPTOM_CONSTRUCTS = frozenset(CONSTRUCTS) - RELATIONSHIP_CONSTRUCTS


def client_progress_constructs(organisation: Organisation, client: Client) -> frozenset[str]:
    """The constructs ``client`` may see of their own results; empty when none.

    Nothing unless the clinic turned the feature on and the treating therapist has not
    turned it off for this client. Trust and alliance only where the clinic chose to show
    them and its clients were told their therapist reads them: "review together" puts
    the screen in front of the therapist, who must not see answers the client was told
    only supervisors read. Each relationship instrument's own audience is checked by
    :func:`may_show_in_client_progress`.
    """
    if organisation.client_progress == ClientProgress.OFF or client.progress_hidden:
        return frozenset()
    if (
        organisation.client_progress == ClientProgress.SYMPTOMS_AND_RELATIONSHIP
        and organisation.trust_answers_audience == TrustAnswersAudience.THERAPIST
    ):
        return SYMPTOM_CONSTRUCTS | RELATIONSHIP_CONSTRUCTS
    return SYMPTOM_CONSTRUCTS


def may_show_in_client_progress(
    instrument: Instrument, organisation: Organisation, client: Client
) -> bool:
    """Whether ``instrument``'s results belong in ``client``'s own progress view."""
    return instrument.construct in client_progress_constructs(
        organisation, client
    ) and not relationship_answers_for_supervisors_only(instrument, organisation)


def may_see_identity(user: User) -> bool:
    """Whether ``user`` may read client names, contact details and dates of birth.

    The treating therapist only (``identity.read``); the client must also be in the
    user's scope (:func:`clients_for`). Pages, the API and the FHIR export ask this.
    """
    return has_permission(user, READ_IDENTITY)


def may_see_talk_request(user: User | AnonymousUser, episode: Episode) -> bool:
    """Whether ``user`` may see that the client of ``episode`` asked to talk about how
    therapy is going (and the line they wrote).

    The client was told: only the treating therapist and their clinical supervisor. So
    the episode's own therapist, or the supervisor of that therapist, and nobody else,
    whatever other permissions a role carries. The caseload, the client page and the
    brief ask this; the PDF report, the API, the FHIR and research exports and every
    aggregate never read the requests at all (docs/security.md, section 12).
    """
    if not has_permission(user, READ_CLINICAL) or episode.therapist_id is None:
        return False
    if episode.therapist_id == user.pk:
        return user.role == Role.THERAPIST
    return user.role == Role.SUPERVISOR and episode.therapist.supervisor_id == user.pk


# --- View helpers: one scoped lookup plus one audit entry -------------------------------


def _parse_public_id(public_id: uuid.UUID | str) -> uuid.UUID:
    if isinstance(public_id, uuid.UUID):
        return public_id
    try:
        return uuid.UUID(str(public_id))
    except ValueError:
        raise Http404 from None


def _clinical_record_or_404(
    request: HttpRequest, records: QuerySet[M], public_id: uuid.UUID | str, action: str
) -> M:
    """One record of ``records`` (already scoped to the user) by public id, audited.

    Wrong role: 403 before any lookup. Out of scope (another therapist's or another
    organisation's record, or no such id): 404, exactly like an id never issued.
    """
    require_permission(request.user, READ_CLINICAL)
    record = records.filter(public_id=_parse_public_id(public_id)).first()
    if record is None:
        raise Http404
    audit.record(action, request=request, obj=record)
    return record


def get_client_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "client.read"
) -> Client:
    """The client ``public_id`` if ``request.user`` may see it; audited as ``action``.

    Call once per view.
    """
    return _clinical_record_or_404(request, clients_for(request.user), public_id, action)


def get_handover_notice_or_404(request: HttpRequest, client_public_id: uuid.UUID | str) -> Handover:
    """How client ``client_public_id`` left ``request.user``'s care, for the page that says so.

    Only for the former treating therapist, who handed the client over (or whose caseload
    was moved), and only while the client is out of their scope: a client they can still
    open has its own page. Everyone else gets 404, like an id never issued. The newest
    such hand-over; audited as ``client.handover_notice``. The page shows who took over
    and when, never clinical data.
    """
    require_permission(request.user, READ_CLINICAL)
    handover = (
        Handover.objects.filter(
            from_therapist=request.user,
            episode__client__public_id=_parse_public_id(client_public_id),
            episode__client__organisation_id=request.user.organisation_id,
        )
        .exclude(episode__client__in=clients_for(request.user))
        .select_related("episode__client", "to_therapist")
        .order_by("-handed_over_at", "-pk")
        .first()
    )
    if handover is None:
        raise Http404
    audit.record("client.handover_notice", request=request, obj=handover.episode.client)
    return handover


def get_episode_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "episode.read"
) -> Episode:
    """The episode ``public_id`` if ``request.user`` may see it; audited as ``action``."""
    episodes = episodes_for(request.user).select_related("client")
    return _clinical_record_or_404(request, episodes, public_id, action)


def active_episode_of_client(user: User, client: Client) -> Episode | None:
    """``client``'s active episode if ``user`` treats or supervises it, else None.

    Seeing the client is not enough: a former therapist still sees them through the old,
    closed episode, but the new episode (another therapist's, after a hand-over or a
    return to the clinic) and its check-ins are not theirs.
    """
    return _newest_active_episode(user, client=client)


def _newest_active_episode(user: User, **client_filter) -> Episode | None:
    # One active episode per client is the rule (reopening checks it); newest first
    # keeps the answer defined if a data import ever broke it.
    episodes = active_caseload(user).filter(**client_filter)
    newest_first = episodes.order_by("-started_on", "-pk")
    return newest_first.select_related("client", "plan", "therapist").first()


def get_active_episode_or_404(
    request: HttpRequest, client_public_id: uuid.UUID | str, *, action: str
) -> Episode:
    """The active episode of client ``client_public_id`` that ``request.user`` treats or
    supervises; audited as ``action``. For what acts on the client's current care (check-in
    links, the kiosk): 404 when the client's active episode is another therapist's."""
    require_permission(request.user, READ_CLINICAL)
    episode = _newest_active_episode(
        request.user, client__public_id=_parse_public_id(client_public_id)
    )
    if episode is None:
        raise Http404
    audit.record(action, request=request, obj=episode)
    return episode


def get_session_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "session.read"
) -> Session:
    """The session ``public_id`` if ``request.user`` may see its episode; audited as ``action``."""
    sessions = Session.objects.filter(episode__in=episodes_for(request.user)).select_related(
        "episode__client"
    )
    return _clinical_record_or_404(request, sessions, public_id, action)


def get_insights_organisation(
    request: HttpRequest, *, action: str, scope: list[str] | None = None
) -> Organisation:
    """The organisation whose aggregate insights ``request.user`` may see; audited as ``action``.

    Supervisors, clinic admins and researchers (``aggregates.read``) see their own
    organisation's aggregates and nothing else; therapists get 403. There is no
    organisation parameter to tamper with: the scope is the user's own clinic. Whether
    the figures are exact or protected is :func:`insight_disclosure`'s decision.
    ``scope``: the filter applied, as ``name=value`` tokens, kept in the audit entry.
    """
    require_permission(request.user, READ_AGGREGATES)
    organisation = request.user.organisation
    detail = {"scope": scope} if scope else None
    audit.record(action, request=request, obj=organisation, detail=detail)
    return organisation


class Disclosure(enum.Enum):
    """How much of the clinic's insight figures a reader gets."""

    # Every figure as computed; those resting on 1 to 10 people carry a visible
    # "small numbers - interpret with care" marking.
    EXACT = "exact"
    # Small-cell protection: no figure of 1 to 10 people, nor one that reveals it.
    PROTECTED = "protected"


class InsightChannel(enum.Enum):
    """Where insight figures go: a page in the browser, or a file that leaves Rapport."""

    PAGE = "page"
    DOWNLOAD = "download"


def insight_disclosure(
    user: User, channel: InsightChannel, scope: InsightScope = WHOLE_CLINIC
) -> Disclosure:
    """Exact insight figures or protected ones for ``user`` on ``channel``: the one rule.

    Small-cell suppression protects people from readers who could not otherwise see
    them. Staff who may open every record behind a figure learn nothing new from its exact
    value, and blanks would only hide their own clinic's results from them. So figures
    are EXACT only on a PAGE, for a user who may read clinical records
    (``clinical.read``) and aggregates (``aggregates.read``), and whose record scope
    (:func:`episodes_for`) covers every episode behind the figures: the clinic's, or
    those of the filtered ``scope`` (a supervisor looking at their own team). Everyone
    else gets PROTECTED figures: researchers, clinic admins (who read no clinical
    records), a supervisor looking beyond their team (whose figures include clients they
    may not open), and every download by anyone, since a file leaves the access layer's
    reach.
    """
    if channel is not InsightChannel.PAGE:
        return Disclosure.PROTECTED
    if not (has_permission(user, READ_AGGREGATES) and has_permission(user, READ_CLINICAL)):
        return Disclosure.PROTECTED
    out_of_scope = scope.episodes(user.organisation).exclude(pk__in=episodes_for(user).values("pk"))
    return Disclosure.PROTECTED if out_of_scope.exists() else Disclosure.EXACT


@dataclass(frozen=True)
class InsightFilterOptions:
    """What ``user`` may narrow the insight pages to: sites, therapists, teams.

    ``teams`` are supervisors (a team is the therapists a supervisor supervises);
    ``whole_years``: periods must be whole calendar years (researchers).
    """

    sites: tuple[Site, ...]
    therapists: tuple[User, ...]
    teams: tuple[User, ...]
    whole_years: bool = False


def insight_filter_options(user: User) -> InsightFilterOptions:
    """The filters the insight pages offer ``user``, within what they may see.

    Every reader of aggregates may narrow by period and site. Therapists and teams are
    offered only to staff who see therapists by name: a supervisor their own team and its
    members, a clinic admin every team and therapist. Researchers see therapists under
    pseudonyms only, so they get no therapist or team filter (one would single out a
    therapist's caseload under a label meant to hide who it is), and their periods are
    whole calendar years: few views, each far from the next, leave little to difference
    (see :func:`insight_scope_refusal`).
    """
    require_permission(user, READ_AGGREGATES)
    sites = tuple(Site.objects.filter(organisation_id=user.organisation_id).order_by("name"))
    # Former staff too: a past period holds the episodes of therapists who have left.
    # Only what the filter shows and checks: a large clinic offers thousands of them.
    staff = User.objects.filter(organisation_id=user.organisation_id).only(
        "pk", "public_id", "first_name", "last_name", "username", "role", "supervisor_id"
    )
    therapists = staff.filter(role=Role.THERAPIST).order_by("first_name", "last_name", "pk")
    if user.role == Role.SUPERVISOR:
        return InsightFilterOptions(sites, tuple(therapists.filter(supervisor=user)), (user,))
    if user.role == Role.CLINIC_ADMIN:
        teams = staff.filter(role=Role.SUPERVISOR).order_by("first_name", "last_name", "pk")
        return InsightFilterOptions(sites, tuple(therapists), tuple(teams))
    return InsightFilterOptions(sites, (), (), whole_years=True)


def insight_therapist_names(user: User, therapist_ids: Collection[int]) -> dict[int, str]:
    """Names by account id of the therapists ``therapist_ids`` whom the insight tables
    ``user`` reads single out.

    Supervisors and clinic admins see therapists by name, as everywhere else in their
    work; researchers get none and keep the pseudonyms ("Therapist 3") the figures carry.
    Only the given accounts are read: a large clinic has thousands.
    """
    require_permission(user, READ_AGGREGATES)
    if user.role == Role.RESEARCHER or not therapist_ids:
        return {}
    staff = (
        User.objects.filter(organisation_id=user.organisation_id, pk__in=therapist_ids)
        .only("pk", "first_name", "last_name", "username")
        .order_by()
    )
    return {person.pk: str(person) for person in staff}


# A filtered view a researcher could compare with a wider one must differ from it by
# none or at least this many clients and episodes (the small-cell threshold, CMS rule).
DIFFERENCING_THRESHOLD = 11


def insight_scope_refusal(user: User, scope: InsightScope) -> str | None:
    """Why ``user`` may not see the insight figures of ``scope`` (message id), else None.

    Researchers get every view under a release (a view's tables change only when its
    groups move by 11 or more), but two views of which one holds the other could still be
    differenced: if the wider view has 1 to 10 clients or episodes more, subtracting the
    two gives those few people's figures. So a researcher's filtered view is refused when
    any wider view it could be compared with (the same filter without its period, its
    site, or either) holds 1 to 10 clients or episodes more. Views that overlap without
    nesting remain a residual risk (docs/security.md). Other readers see every
    computation at once, filtered or not, as they always have: None.
    """
    if user.role != Role.RESEARCHER or scope.is_whole_clinic:
        return None
    if not scope.is_whole_years:
        return gettext_noop(
            "Researchers choose periods of whole calendar years: from January to December."
        )
    organisation = user.organisation

    def size(view: InsightScope) -> tuple[int, int]:
        episodes = view.episodes(organisation)
        return episodes.values("client_id").distinct().count(), episodes.count()

    clients, episodes = size(scope)
    for wider in scope.coarser():
        wider_clients, wider_episodes = size(wider)
        more = (wider_clients - clients, wider_episodes - episodes)
        if any(0 < extra < DIFFERENCING_THRESHOLD for extra in more):
            return gettext_noop(
                "This filter leaves out only a few clients of a wider view, so comparing the "
                "two could reveal them. Choose a wider filter."
            )
    return None


def get_team(request: HttpRequest, *, action: str = "team.read") -> QuerySet[User]:
    """The therapists ``request.user`` supervises (the supervisor view); audited as ``action``.

    Supervisors only (``team.read``): other roles get 403 before anything is read. The
    team is the same set of therapists whose episodes :func:`episodes_for` already lets
    the supervisor see.
    """
    require_permission(request.user, READ_TEAM)
    audit.record(action, request=request)
    return User.objects.filter(
        organisation_id=request.user.organisation_id,
        supervisor=request.user,
        role=Role.THERAPIST,
    )


def staff_for(user: User) -> QuerySet[User]:
    """The staff accounts of ``user``'s organisation, for a clinic admin to manage.

    Other roles manage no accounts: an empty queryset.
    """
    if not has_permission(user, MANAGE_CLINIC):
        return User.objects.none()
    return User.objects.filter(organisation_id=user.organisation_id)


def get_staff(request: HttpRequest, *, action: str = "staff.list") -> QuerySet[User]:
    """Every staff account of the clinic admin's organisation; audited as ``action``.

    Clinic admins only (``clinic.manage``): other roles get 403 before anything is read.
    """
    require_permission(request.user, MANAGE_CLINIC)
    audit.record(action, request=request, object_type="user")
    return staff_for(request.user)


def get_staff_member_or_404(
    request: HttpRequest, public_id: uuid.UUID | str, *, action: str = "staff.read"
) -> User:
    """One staff account of the clinic admin's organisation; audited as ``action``.

    Wrong role: 403 before any lookup. Another clinic's account, or no such id: 404.
    """
    require_permission(request.user, MANAGE_CLINIC)
    member = staff_for(request.user).filter(public_id=_parse_public_id(public_id)).first()
    if member is None:
        raise Http404
    audit.record(action, request=request, obj=member, object_type="user")
    return member


def get_managed_organisation(request: HttpRequest, *, action: str) -> Organisation:
    """The organisation whose settings the clinic admin manages; audited as ``action``.

    Clinic admins only (``clinic.manage``): other roles get 403 before anything is read.
    There is no organisation parameter to tamper with: it is always the admin's own clinic.
    """
    require_permission(request.user, MANAGE_CLINIC)
    organisation = request.user.organisation
    audit.record(action, request=request, obj=organisation)
    return organisation


def may_see_therapist_profile(user: User | AnonymousUser, therapist: User) -> bool:
    """Whether ``user`` may see ``therapist``'s relationship profile: the one rule.

    A therapist's profile (their clients' trust, alliance, openness, outcome and dropout
    against the clinic) is feedback for the therapist and their supervision, not a
    league table: only the therapist themselves and the supervisor they report to. Not
    other therapists, not another supervisor, not clinic admins (who read no clinical
    records and manage accounts, so a profile would become a staffing tool), never
    researchers.
    """
    if not has_permission(user, READ_CLINICAL):
        return False
    if therapist.organisation_id != user.organisation_id or therapist.role != Role.THERAPIST:
        return False
    return therapist.pk == user.pk or therapist.supervisor_id == user.pk


def get_therapist_profile_owner_or_404(
    request: HttpRequest,
    public_id: uuid.UUID | str | None = None,
    *,
    action: str = "therapist_profile.read",
) -> User:
    """The therapist whose profile ``request.user`` opens; audited as ``action``.

    Without ``public_id`` the therapist's own profile (other roles: 403). Roles that
    read no clinical records (clinic admins, researchers) get 403 before any lookup; a
    therapist the user may not see (a colleague, another supervisor's team, another
    clinic, no such id) answers 404 like an id never issued.
    """
    require_permission(request.user, READ_CLINICAL)
    if public_id is None:
        if request.user.role != Role.THERAPIST:
            raise PermissionDenied  # "my profile" is a therapist's page
        therapist: User | None = request.user
    else:
        therapist = User.objects.filter(public_id=_parse_public_id(public_id)).first()
    if therapist is None or not may_see_therapist_profile(request.user, therapist):
        raise Http404
    audit.record(action, request=request, obj=therapist, object_type="user")
    return therapist
