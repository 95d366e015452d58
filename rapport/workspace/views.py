"""The therapist workspace: caseload, client page, brief, worklist, team view and report.

Every record comes through rapport.security.access (one scoped lookup per view, which
writes the view's audit entry); the staff gate middleware has already required sign-in
and MFA before these functions run. Writes are POST-only and validated by Django forms.
"""

from __future__ import annotations

import datetime
import logging
import statistics
import uuid
from collections import defaultdict
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.accounts.caseload_moves import CaseloadMoveError, hand_over_episode
from rapport.alerts import FlagKind
from rapport.checkin import sending
from rapport.checkin.acknowledgement import AcknowledgementError
from rapport.checkin.acknowledgement import resolve_risk as resolve
from rapport.checkin.talk_requests import TalkRequestError, mark_discussed
from rapport.checkin.worklist import worklist_for
from rapport.clinic.intake import IntakeError, NewClient, admit_client, update_contact
from rapport.clinic.models import Episode, EpisodeStatus, SessionStatus
from rapport.security import audit, params
from rapport.security.access import (
    CHANGE_CARE,
    MANAGE_CLINIC,
    READ_AGGREGATES,
    READ_CLINICAL,
    READ_IDENTITY,
    active_caseload,
    closed_episodes,
    episodes_for,
    get_client_or_404,
    get_episode_or_404,
    get_handover_notice_or_404,
    get_session_or_404,
    get_team,
    has_permission,
    hidden_instrument_ids,
    require_permission,
    visible_alerts,
)
from rapport.workspace import actions
from rapport.workspace.brief import build_brief
from rapport.workspace.caseload import (
    SORT_KEYS,
    caseload,
    headline_instrument_ids,
    open_safety_alerts,
)
from rapport.workspace.client_record import EpisodeView, episode_views
from rapport.workspace.follow_up import follow_ups
from rapport.workspace.forms import (
    MAX_SERIES,
    AcknowledgeForm,
    CaseloadFilterForm,
    ClientContactForm,
    CloseEpisodeForm,
    HandOverForm,
    NewClientForm,
    PlanFormSet,
    ResolveRiskForm,
    ScheduleSessionForm,
    SessionStatusForm,
)
from rapport.workspace.names import client_name, client_names
from rapport.workspace.records import visible_instruments
from rapport.workspace.report import progress_report
from rapport.workspace.report_fonts import MissingFontError

logger = logging.getLogger(__name__)
# The closed-episodes page lists this many, most recently ended first.
CLOSED_EPISODES_SHOWN = 200


def _scale_notes() -> list[str]:
    """The caption's scale ranges, from the instruments themselves (alliance is 0-40)."""
    from rapport.core.instruments import instruments
    from rapport.workspace.charts import fmt
    from rapport.workspace.titles import short_title

    notes = []
    for instrument_id in headline_instrument_ids().values():
        instrument = instruments()[instrument_id]
        low, high = instrument.score_range
        scale = {"name": short_title(instrument), "low": fmt(low), "high": fmt(high)}
        if instrument.higher_is_better:
            notes.append(_("%(name)s %(low)s–%(high)s (higher is better)") % scale)  # noqa: RUF001 - the en dash of a range
        else:
            notes.append(_("%(name)s %(low)s–%(high)s (lower is better)") % scale)  # noqa: RUF001 - the en dash of a range
    return notes


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The caseload: active clients, most urgent first, each flag explained in a sentence.

    Search and filters come from the URL (a GET form), so a filtered caseload can be
    bookmarked; invalid values are reported on the page and the caseload shown unfiltered.
    Roles without clinical records have no caseload: a clinic admin lands on Staff, a
    researcher on Insights, instead of an empty table.
    """
    if not has_permission(request.user, READ_CLINICAL):
        if has_permission(request.user, MANAGE_CLINIC):
            return redirect("staff-list")
        if has_permission(request.user, READ_AGGREGATES):
            return redirect("insights")
    sort, order = params.ordering(request, SORT_KEYS, default="urgency")
    filter_form = CaseloadFilterForm(request.GET)
    filters = filter_form.filters() if filter_form.is_valid() else None
    result = caseload(active_caseload(request.user), request.user, order, filters)
    # The count of rows shown, never the search itself: it may be a name.
    audit.record("caseload.read", request=request, detail={"count": len(result.rows)})
    # Sort links keep the filters (only the form's own keys, as given).
    filter_query = urlencode(
        {key: request.GET[key] for key in CaseloadFilterForm.base_fields if request.GET.get(key)}
    )
    context = {
        "rows": result.rows,
        "total": result.total,
        "therapists": result.therapists,
        "filter_form": filter_form,
        "filtered": bool(filters),
        "filter_query": filter_query,
        "etr_available": result.etr_available,
        "sort": sort,
        "scale_notes": _scale_notes(),
        "custom_rules": bool(settings.FLAG_RULES_FILE),
    }
    return render(request, "workspace/caseload.html", context)


@require_http_methods(["GET", "POST"])
def client_new(request: HttpRequest) -> HttpResponse:
    """Intake: a new client on the therapist's own caseload, ready for check-ins."""
    require_permission(request.user, CHANGE_CARE)
    form = NewClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            episode = admit_client(request.user, NewClient(**form.cleaned_data), request=request)
        except IntakeError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request, _("Client %(record)s added.") % {"record": episode.client.record_number}
            )
            return redirect("client-detail", episode.client.public_id)
    return render(request, "workspace/client_new.html", {"form": form})


@require_GET
def client_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """One client's record: flags, charts, items, comments, sessions, plan, alerts.

    A therapist who handed the client over gets, instead of a bare 404, a page saying to
    whom and when (:func:`_handed_over`).
    """
    try:
        client = get_client_or_404(request, public_id)
    except Http404:
        return _handed_over(request, public_id)
    views = episode_views(episodes_for(request.user).filter(client=client), request.user)
    context = {
        "client": client,
        "client_name": client_name(request.user, client),
        "views": views,
        "ack_form": AcknowledgeForm(),
        "close_form": CloseEpisodeForm(),
        "session_statuses": SessionStatus.choices,
        "hand_over_form": HandOverForm(member=request.user),
        "series_choices": ScheduleSessionForm.base_fields["repeat"].choices,
        "max_series": MAX_SERIES,
    }
    return render(request, "workspace/client_detail.html", context)


def _handed_over(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Where a client went, for their former therapist: the colleague and the day only."""
    handover = get_handover_notice_or_404(request, public_id)
    context = {
        "record_number": handover.episode.client.record_number,
        "colleague": handover.to_therapist,
        "handed_over_on": timezone.localdate(handover.handed_over_at),
    }
    return render(request, "workspace/handed_over.html", context)


@require_http_methods(["GET", "POST"])
def client_contact(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The client's names and contact details (the treating therapist); reads audited."""
    require_permission(request.user, READ_IDENTITY)
    if request.method == "POST":
        require_permission(request.user, CHANGE_CARE)
    action = "client.identity.read" if request.method == "GET" else "client.identity.edit"
    client = get_client_or_404(request, public_id, action=action)
    identity = getattr(client, "identity", None)
    demographics = getattr(client, "demographics", None)
    initial = {name: getattr(identity, name, "") for name in ClientContactForm.base_fields}
    initial["preferred_language"] = getattr(demographics, "preferred_language", "en")
    form = ClientContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        changed = update_contact(client, form.cleaned_data, user=request.user, request=request)
        messages.success(request, _("Contact details saved.") if changed else _("Nothing changed."))
        return redirect("client-detail", client.public_id)
    return render(request, "workspace/client_contact.html", {"client": client, "form": form})


def _episode_view(request: HttpRequest, public_id: uuid.UUID, action: str) -> EpisodeView:
    episode = get_episode_or_404(request, public_id, action=action)
    # The same scope again, narrowed to the one episode the helper already checked.
    found = episode_views(episodes_for(request.user).filter(pk=episode.pk), request.user)
    return found[0]


@require_GET
def episode_brief(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The pre-session brief: one screen to read before the session."""
    view = _episode_view(request, public_id, "episode.brief")
    context = {
        "brief": build_brief(view),
        "view": view,
        "client_name": client_name(request.user, view.episode.client),
    }
    return render(request, "workspace/brief.html", context)


@require_POST
def acknowledge_alert(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Acknowledge one open alert of the episode: how the client was reached, the outcome
    of the risk review and a note (audited without the note)."""
    view = _episode_view(request, public_id, "episode.read")
    flag = actions.acknowledgeable_flag(view, request.POST.get("target", ""))
    form = AcknowledgeForm(request.POST, risk_review=flag is None or flag.kind == FlagKind.SAFETY)
    back = reverse("client-detail", args=[view.episode.client.public_id]) + "#alerts"
    if not form.is_valid():
        messages.error(request, _("Not acknowledged: %s") % form.error_sentence())
        return redirect(back)
    if flag is None:
        raise Http404  # not an open alert of this episode (or already acknowledged)
    try:
        actions.acknowledge(
            request,
            view,
            flag,
            contact_method=form.cleaned_data["contact_method"],
            risk_outcome=form.cleaned_data["risk_outcome"],
            note=form.cleaned_data["note"],
        )
    except AcknowledgementError as error:
        messages.error(request, _("Not acknowledged: %s") % error)
        return redirect(back)
    if request.user.supervisor_id:
        messages.success(
            request, _("Alert acknowledged. Your record is visible to your supervisor.")
        )
    else:
        messages.success(request, _("Alert acknowledged."))
    return redirect(back)


@require_POST
def resolve_risk(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Record a reviewed risk as resolved, with a note (audited without the note)."""
    view = _episode_view(request, public_id, "episode.read")
    form = ResolveRiskForm(request.POST)
    back = reverse("client-detail", args=[view.episode.client.public_id]) + "#alerts"
    if not form.is_valid():
        messages.error(request, _("Not recorded: %s") % form.error_sentence())
        return redirect(back)
    marker = actions.resolvable_marker(view, str(form.cleaned_data["alert"]))
    if marker is None:
        raise Http404  # no risk marker of this episode for that alert
    try:
        resolve(marker.alert, request.user, note=form.cleaned_data["note"], request=request)
    except AcknowledgementError as error:
        messages.error(request, _("Not recorded: %s") % error)
        return redirect(back)
    messages.success(request, _("Risk recorded as resolved."))
    return redirect(back)


@require_POST
def talk_discussed(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Mark the client's request to talk about how therapy is going as discussed (the
    treating therapist; audited). The request is found among the episode's flags, which
    hold only requests the access layer lets this user see."""
    require_permission(request.user, CHANGE_CARE)
    view = _episode_view(request, public_id, "episode.read")
    wanted = request.POST.get("request", "")
    flag = next(
        (f for f in view.flags if f.talk_request and str(f.talk_request.public_id) == wanted),
        None,
    )
    if flag is None or flag.talk_request is None:
        raise Http404  # no open request of this episode by that id
    back = reverse("client-detail", args=[view.episode.client.public_id]) + "#alerts"
    try:
        mark_discussed(request, flag.talk_request, request.user)
    except TalkRequestError as error:
        messages.error(request, _("Not recorded: %s") % error)
        return redirect(back)
    messages.success(request, _("Marked as discussed."))
    return redirect(back)


def _episode_to_change(
    request: HttpRequest, public_id: uuid.UUID, status: str = EpisodeStatus.ACTIVE
) -> Episode:
    """The treating therapist's episode ``public_id`` in ``status`` (403 other roles; 404
    otherwise).

    A closed episode is history: it gets no new session, attendance or end; it can only
    be reopened.
    """
    require_permission(request.user, CHANGE_CARE)
    episode = get_episode_or_404(request, public_id, action="episode.read")
    if episode.status != status:
        raise Http404
    return episode


@require_POST
def episode_schedule(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Schedule the episode's next session, or a weekly or fortnightly series of them (the
    treating therapist; invitations follow)."""
    episode = _episode_to_change(request, public_id)
    form = ScheduleSessionForm(request.POST, episode=episode)
    back = reverse("client-detail", args=[episode.client.public_id]) + "#sessions"
    if not form.is_valid():
        messages.error(request, _("Not scheduled: %s") % form.error_sentence())
        return redirect(back)
    try:
        sessions = actions.schedule_sessions(request, episode, form.cleaned_data["times"])
    except actions.SchedulingError as error:
        messages.error(request, _("Not scheduled: %s") % error)
        return redirect(back)
    when = date_format(timezone.localtime(sessions[0].scheduled_at), _("j M Y H:i"))
    if len(sessions) == 1:
        text = _("Session %(number)s scheduled for %(when)s.") % {
            "number": sessions[0].number,
            "when": when,
        }
    else:
        text = _("%(count)s sessions scheduled, %(repeat)s from %(when)s.") % {
            "count": len(sessions),
            "repeat": dict(form.fields["repeat"].choices)[form.cleaned_data["repeat"]].lower(),
            "when": when,
        }
    messages.success(request, text)
    return redirect(back)


@require_POST
def session_status(request: HttpRequest, public_id: uuid.UUID, number: int) -> HttpResponse:
    """Record whether the client came to session ``number`` of the episode."""
    episode = _episode_to_change(request, public_id)
    session = episode.sessions.filter(number=number).first()
    if session is None:
        raise Http404
    form = SessionStatusForm(request.POST)
    back = reverse("client-detail", args=[episode.client.public_id]) + "#sessions"
    if not form.is_valid():
        messages.error(request, _("Not saved: choose attended, missed, cancelled or scheduled."))
        return redirect(back)
    if actions.set_session_status(request, session, form.cleaned_data["status"]):
        label = str(SessionStatus(form.cleaned_data["status"]).label).lower()
        messages.success(
            request,
            _("Session %(number)s marked %(status)s.")
            % {"number": session.number, "status": label},
        )
    return redirect(back)


@require_POST
def episode_close(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """End the episode of care (the treating therapist): last day and reason."""
    episode = _episode_to_change(request, public_id)
    form = CloseEpisodeForm(request.POST)
    back = reverse("client-detail", args=[episode.client.public_id])
    if not form.is_valid():
        messages.error(request, _("Not closed: %s") % form.error_sentence())
        return redirect(back)
    try:
        actions.close_episode(
            request, episode, form.cleaned_data["ended_on"], form.cleaned_data["end_reason"]
        )
    except actions.EpisodeStatusError as error:
        messages.error(request, _("Not closed: %s") % error)
        return redirect(back)
    messages.success(request, _("Episode closed. Its open check-in links no longer work."))
    return redirect(back)


@require_POST
def episode_reopen(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Make a closed episode active again (the treating therapist), back on the caseload."""
    episode = _episode_to_change(request, public_id, status=EpisodeStatus.CLOSED)
    back = reverse("client-detail", args=[episode.client.public_id])
    try:
        actions.reopen_episode(request, episode)
    except actions.EpisodeStatusError as error:
        messages.error(request, _("Not reopened: %s") % error)
        return redirect(back)
    messages.success(request, _("Episode reopened: the client is back on your caseload."))
    return redirect(back)


@require_GET
def closed_episodes_list(request: HttpRequest) -> HttpResponse:
    """Episodes that have ended, for finding a former client (therapists, supervisors)."""
    require_permission(request.user, READ_CLINICAL)
    episodes = list(closed_episodes(request.user)[:CLOSED_EPISODES_SHOWN])
    audit.record("caseload.read_closed", request=request, detail={"count": len(episodes)})
    context = {"episodes": episodes, "limit": CLOSED_EPISODES_SHOWN}
    return render(request, "workspace/closed_episodes.html", context)


@require_POST
def episode_hand_over(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Hand the client over to a colleague (the treating therapist), who treats them next."""
    episode = _episode_to_change(request, public_id)
    form = HandOverForm(request.POST, member=request.user)
    back = reverse("client-detail", args=[episode.client.public_id]) + "#hand-over"
    if not form.is_valid():
        messages.error(request, _("Not handed over: %s") % form.error_sentence())
        return redirect(back)
    try:
        hand_over_episode(episode, form.cleaned_data["to"], request=request)
    except CaseloadMoveError as error:
        messages.error(request, _("Not handed over: %s") % error)
        return redirect(back)
    # The client is no longer on this therapist's caseload, so their page is closed to
    # them now: back to the caseload.
    messages.success(
        request,
        _(
            "%(record)s handed over to %(colleague)s on %(date)s. You can no longer open "
            "this client's record."
        )
        % {
            "record": episode.client.record_number,
            "colleague": form.cleaned_data["to"],
            "date": date_format(timezone.localdate(), _("j M Y")),
        },
    )
    return redirect("home")


@require_http_methods(["GET", "POST"])
def episode_plan(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Edit the episode's measurement plan (a copy of the clinic plan, for this client only)."""
    require_permission(request.user, CHANGE_CARE)
    action = "plan.read" if request.method == "GET" else "plan.edit"
    episode = get_episode_or_404(request, public_id, action=action)
    if episode.status != EpisodeStatus.ACTIVE:
        raise Http404  # a closed episode's plan is history
    if request.method == "POST":
        formset = PlanFormSet(request.POST, prefix="plan")
        if formset.is_valid():
            actions.save_plan(request, episode, formset.entries())
            messages.success(request, _("Measurement plan saved for this client."))
            return redirect(reverse("client-detail", args=[episode.client.public_id]) + "#plan")
    else:
        initial = [
            {
                "instrument_id": entry.instrument_id,
                "every_n_sessions": entry.every_n_sessions,
                "first_session": entry.first_session,
            }
            for entry in episode.plan.entries.all()
        ]
        formset = PlanFormSet(initial=initial, prefix="plan")
    return render(request, "workspace/plan.html", {"episode": episode, "formset": formset})


@require_GET
def episode_report(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The PDF progress report of one episode (for the record or supervision); audited."""
    view = _episode_view(request, public_id, "report.download")
    try:
        pdf = progress_report(view, request.user, client_name(request.user, view.episode.client))
    except MissingFontError as error:
        # A server without the font packages: say so, in one log line naming no text.
        logger.warning("PDF report not made: no font for %s", ", ".join(error.scripts))
        context = {"message": str(error), "client_id": view.episode.client.public_id}
        return render(request, "workspace/report_unavailable.html", context, status=503)
    response = HttpResponse(pdf, content_type="application/pdf")
    filename = f"rapport-progress-{view.episode.client.record_number}.pdf"
    safe = "".join(c for c in filename if c.isalnum() or c in "-_.")
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


@require_GET
def worklist(request: HttpRequest) -> HttpResponse:
    """Pending, overdue and expired check-ins, stopped clients and failed deliveries."""
    require_permission(request.user, READ_CLINICAL)
    items = worklist_for(request.user)
    audit.record(
        "worklist.read",
        request=request,
        detail={"count": len(items.pending) + len(items.overdue) + len(items.expired)},
    )
    shown = [row.client_public_id for row in items.pending + items.overdue + items.expired]
    shown += [preference.client.public_id for preference in items.stopped]
    shown += [message.session.episode.client.public_id for message in items.failed_messages]
    names = client_names(request.user, shown)
    return render(request, "workspace/worklist.html", {"worklist": items, "names": names})


@require_POST
def worklist_resend(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Send a session's open check-in again now, by the client's e-mail, else SMS.

    Only a session with an open link, to a reachable client (rapport.checkin.sending);
    otherwise the worklist says why and nothing is sent.
    """
    session = get_session_or_404(request, public_id, action="checkin.resend")
    try:
        message = sending.send_link(
            sending.link_to_resend(session), None, request=request, session=session
        )
    except sending.NotSendable as refusal:
        messages.error(
            request,
            _("Not sent to %(record)s: %(reason)s")
            % {"record": session.episode.client.record_number, "reason": refusal},
        )
        return redirect("worklist")
    sent, sentence = sending.sent_sentence(message)
    (messages.success if sent else messages.warning)(request, sentence)
    return redirect("worklist")


def _median(waits: list[datetime.timedelta]) -> datetime.timedelta | None:
    if not waits:
        return None
    return datetime.timedelta(seconds=statistics.median(w.total_seconds() for w in waits))


@require_GET
def team(request: HttpRequest) -> HttpResponse:
    """A supervisor's team: each therapist's caseload flags and how fast alerts are seen."""
    therapists = list(get_team(request).order_by("last_name", "first_name", "username"))
    rows = caseload(active_caseload(request.user), request.user).rows
    by_therapist = defaultdict(list)
    for row in rows:
        by_therapist[row.episode.therapist_id].append(row)
    alerts = list(
        visible_alerts(request.user)
        .select_related("client", "acknowledged_by", "episode__therapist", "session")
        .order_by("-raised_at")[:100]
    )
    waits: dict[int, list[datetime.timedelta]] = defaultdict(list)
    for alert in alerts:
        # A therapist's pace: an answer about the relationship waits on the supervisor.
        if alert.acknowledged_at and not alert.about_the_relationship:
            waits[alert.episode.therapist_id].append(alert.acknowledged_at - alert.raised_at)
    open_safety = open_safety_alerts(rows, visible_instruments(hidden_instrument_ids(request.user)))
    teams = [
        {
            "therapist": therapist,
            "rows": by_therapist.get(therapist.pk, []),
            "open": sum(1 for row in by_therapist.get(therapist.pk, []) if row.open_flags),
            "median_wait": _median(waits[therapist.pk]),
        }
        for therapist in therapists
    ]
    context = {
        "teams": teams,
        "alerts": follow_ups(request.user, alerts),
        "open_safety": open_safety,
    }
    return render(request, "workspace/team.html", context)
