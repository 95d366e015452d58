"""The client's check-in pages (link holders, no staff sign-in) and the staff actions.

Client pages (``/q/<token>/...``) are marked public by :func:`checkin_page`, which also
rate-limits them and sends ``no-referrer``, ``no-store`` and ``noindex``. GET only
renders: opening a link (as mail scanners do) changes nothing. POSTs save the draft
("Next", autosave) or submit. Every closed or unknown link gets the same 410 page.
"""

from __future__ import annotations

import functools
import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.checkin import kiosk, preferences, progress, progress_link, review, sending
from rapport.checkin.answers import (
    LANGUAGES,
    AnswerInputError,
    read_answers,
    read_comment,
    read_language,
    read_talk_choice,
    unanswered_required,
)
from rapport.checkin.audience import progress_statement, thank_you_audience, thank_you_statement
from rapport.checkin.crisis import crisis_contacts
from rapport.checkin.links import (
    NoDueSessionError,
    due_session,
    ensure_due_administrations,
    find_open_link,
    issue_link,
    revoke_link,
)
from rapport.checkin.models import Channel, CheckinDraft, CheckinLink, CheckinSubmission
from rapport.checkin.responses import checkin_page, closed_page
from rapport.checkin.screens import screen_context, screens_for
from rapport.checkin.submit import (
    LinkClosedError,
    Outcome,
    draft_of,
    merged_answers,
    save_draft,
    submit_checkin,
)
from rapport.clinic.models import ClientDemographics, Episode, Organisation
from rapport.core.instruments import instruments
from rapport.security import audit
from rapport.security.access import (
    READ_CLINICAL,
    client_progress_constructs,
    episodes_for,
    get_active_episode_or_404,
    public,
    require_permission,
)

# --- the client's pages -------------------------------------------------------------


def _requested_language(request: HttpRequest) -> str | None:
    """The language this request asks for (form field, else query string), if supported."""
    requested = (request.POST.get("lang"), request.GET.get("lang"))
    return next((code for code in requested if code in LANGUAGES), None)


def _language(request: HttpRequest, draft: CheckinDraft | None, link: CheckinLink) -> str:
    """The chosen language: this request's, the draft's, else the client's preferred one."""
    chosen = [_requested_language(request), draft.language if draft else None]
    if any(code in LANGUAGES for code in chosen):
        return read_language(chosen)
    demographics = ClientDemographics.objects.filter(client_id=link.session.episode.client_id)
    return read_language([demographics.values_list("preferred_language", flat=True).first()])


def _link_for_this_device(token: str, request: HttpRequest) -> CheckinLink | None:
    """The open link behind ``token`` if this device may use it (a kiosk link: its tablet)."""
    link = find_open_link(token)
    return link if link is not None and kiosk.opens_here(request, link) else None


def _screen_number(raw: str | None, default: int, last: int) -> int:
    try:
        number = int(raw) if raw not in (None, "") else default
    except ValueError:
        number = default
    return min(max(number, 0), last)


def _render_step(
    request: HttpRequest,
    token: str,
    link: CheckinLink,
    *,
    screen_number: int,
    language: str,
    answers: dict,
    missing: dict[str, list[str]] | None = None,
    status: int = 200,
) -> HttpResponse:
    screens = screens_for(ensure_due_administrations(link.session))
    if not screens:
        return closed_page(request)
    screen_number = min(screen_number, len(screens))
    context = {
        "token": token,
        "lang": language,
        "step": screen_number + 1,
        "steps": len(screens) + 1,
        "screen_number": screen_number,
        "kiosk": kiosk.is_kiosk(request),
        "kiosk_idle_seconds": int(kiosk.idle_limit().total_seconds()),
        "missing_any": bool(missing),
    }
    with translation.override(language):
        if screen_number == len(screens):
            draft = draft_of(link)
            context["comment"] = draft.comment if draft else ""
            context["talk_requested"] = bool(draft and draft.talk_requested)
            context["talk_note"] = draft.talk_note if draft else ""
            # Before the first session there is no therapy yet to talk about (as
            # relationship questionnaires start at session 2: Instrument.first_session).
            context["offer_talk"] = link.session.number > 1
            return render(request, "checkin/final.html", context, status=status)
        screen = screens[screen_number]
        context.update(
            screen_context(
                screen,
                language=language,
                answers=answers,
                organisation=link.session.episode.client.organisation,
                missing=(missing or {}).get(screen.instrument.id),
            )
        )
        return render(request, "checkin/screen.html", context, status=status)


def _posted_answers(data) -> dict:
    """Answers in ``data`` per installed instrument named in it; raises AnswerInputError.

    Only the link's due questionnaires are stored from this (``submit.py`` decides), so
    naming another instrument changes nothing; reading it here needs no query.
    """
    registry = instruments()
    named = {key.split(".", 1)[0] for key in data if "." in key}
    return {
        instrument_id: read_answers(registry[instrument_id], data)
        for instrument_id in sorted(named)
        if instrument_id in registry
    }


@checkin_page
@require_http_methods(["GET", "HEAD", "POST"])
def checkin_form(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a screen; POST (the no-JavaScript path) saves it and moves on or back."""
    if kiosk.end_if_idle(request):
        return redirect("checkin-kiosk-locked")
    link = _link_for_this_device(token, request)
    if link is None:
        return closed_page(request)
    draft = draft_of(link)
    language = _language(request, draft, link)
    steps = len(ensure_due_administrations(link.session))
    if request.method != "POST":
        number = _screen_number(request.GET.get("screen"), draft.screen if draft else 0, steps)
        answers = draft.answers if draft else {}
        return _render_step(
            request, token, link, screen_number=number, language=language, answers=answers
        )
    number = _screen_number(request.POST.get("screen"), 0, steps)
    try:
        posted = _posted_answers(request.POST)
    except AnswerInputError:
        return HttpResponse(status=400)
    action = request.POST.get("action", "next")
    target = number + 1 if action == "next" else number - 1 if action == "back" else number
    target = min(max(target, 0), steps)
    try:
        draft = save_draft(
            link,
            posted,
            comment=read_comment(request.POST),
            talk=read_talk_choice(request.POST),
            language=language,
            screen=target,
        )
    except LinkClosedError:
        return closed_page(request)
    if action == "next" and number < steps:
        screens = screens_for(ensure_due_administrations(link.session))
        instrument = screens[number].instrument
        missing = unanswered_required(instrument, draft.answers.get(instrument.id, {}))
        if missing:
            return _render_step(
                request,
                token,
                link,
                screen_number=number,
                language=language,
                answers=draft.answers,
                missing={instrument.id: missing},
            )
    query = urlencode({"screen": target, "lang": language})
    return redirect(f"{reverse('checkin-form', kwargs={'token': token})}?{query}")


@checkin_page
@require_POST
def checkin_draft(request: HttpRequest, token: str) -> HttpResponse:
    """Autosave (fetch from checkin.js): merge the posted answers into the draft."""
    kiosk.end_if_idle(request)
    link = _link_for_this_device(token, request)
    if link is None:
        return closed_page(request)
    try:
        posted = _posted_answers(request.POST)
    except AnswerInputError:
        return JsonResponse({"saved": False}, status=400)
    draft = draft_of(link)
    try:
        save_draft(
            link,
            posted,
            comment=read_comment(request.POST),
            talk=read_talk_choice(request.POST),
            language=_language(request, draft, link),
            screen=_screen_number(request.POST.get("screen"), 0, 99),
        )
    except LinkClosedError:
        return closed_page(request)
    return JsonResponse({"saved": True})


@checkin_page
@require_POST
def checkin_submit(request: HttpRequest, token: str) -> HttpResponse:
    """The deliberate final submission: stores everything once, then thanks the client.

    The link is looked up (and locked) by the submission itself, in its transaction; the
    other queries below only run for the rare incomplete or crisis outcomes.
    """
    try:
        posted = _posted_answers(request.POST)
    except AnswerInputError:
        # A closed link answers 410 whatever was posted, as it did before any parsing.
        usable = _link_for_this_device(token, request)
        return HttpResponse(status=400) if usable else closed_page(request)
    comment = read_comment(request.POST)
    talk = read_talk_choice(request.POST)
    kiosk.end_if_idle(request)
    result = submit_checkin(
        token,
        posted,
        comment=comment,
        talk=talk,
        language=_requested_language(request),
        kiosk_link_id=kiosk.current_link_id(request),
    )
    if result.outcome is Outcome.CLOSED:
        return closed_page(request)
    language = result.language
    if result.outcome is Outcome.INCOMPLETE:
        link = _link_for_this_device(token, request)
        if link is None:
            return closed_page(request)
        screens = screens_for(ensure_due_administrations(link.session))
        first = next(s.index for s in screens if s.instrument.id in result.missing)
        try:
            save_draft(link, posted, comment=comment, talk=talk, language=language)
        except LinkClosedError:
            return closed_page(request)
        draft = draft_of(link)
        return _render_step(
            request,
            token,
            link,
            screen_number=first,
            language=language,
            answers=merged_answers(draft, {}),
            missing=result.missing,
        )
    in_kiosk = kiosk.is_kiosk(request)
    organisation = Organisation.objects.only("trust_answers_audience", "client_progress").get(
        pk=result.organisation_id
    )
    therapist_reads = thank_you_audience(result.instruments, organisation)
    # A kiosk goes back to its locked screen; "review together" shows progress there.
    progress_url = None if in_kiosk else progress_link.offer(request, token, organisation)
    if not (result.show_crisis_resources or result.relationship_followup or progress_url):
        return HttpResponse(_thank_you_page(language, in_kiosk, therapist_reads))
    # Every word in the client's language: the statement too (a crisis page in Spanish
    # once thanked the client in English).
    with translation.override(language):
        context = {
            "lang": language,
            "kiosk": in_kiosk,
            "audience_statement": thank_you_statement(therapist_reads),
            "crisis": (
                crisis_contacts(result.organisation_id, language)
                if result.show_crisis_resources
                else None
            ),
            "relationship_followup": result.relationship_followup,
            "progress_url": progress_url,
        }
        return render(request, "checkin/thanks.html", context)


@functools.cache
def _thank_you_page(language: str, in_kiosk: bool, therapist_reads: str) -> str:
    """The thank-you page without crisis resources, rendered once per process.

    It shows nothing about the client or the request (no form, no token), only the
    language, whether a kiosk hands the tablet back and whether the therapist reads all,
    some or none of the answers, so every such submission gets the same page.
    """
    with translation.override(language):
        context = {
            "lang": language,
            "kiosk": in_kiosk,
            "audience_statement": thank_you_statement(therapist_reads),
            "crisis": None,
        }
        return render_to_string("checkin/thanks.html", context)


@checkin_page
@require_GET
def checkin_progress(request: HttpRequest, token: str) -> HttpResponse:
    """ "Your progress": the client's own results, right after their check-in.

    Only in the browser that sent the check-in, for a short time
    (:mod:`rapport.checkin.progress_link`); anything else is the closed-link page.
    """
    link = progress_link.opened_link(request, token)
    if link is None:
        return closed_page(request)
    submission_language = (
        CheckinSubmission.objects.filter(link=link).values_list("language", flat=True).first()
    )
    language = read_language([_requested_language(request), submission_language])
    return _progress_page(request, link.session.episode, language, template="checkin/progress.html")


def _progress_page(
    request: HttpRequest, episode: Episode, language: str, *, template: str
) -> HttpResponse:
    """The client's progress in ``episode`` (the after-check-in view and the review)."""
    with translation.override(language):
        shown = progress.build(episode)
        context = {
            "lang": language,
            "progress": shown,
            "audience_statement": progress_statement(shows_relationship=shown.shows_relationship),
        }
        return render(request, template, context)


@checkin_page
@require_http_methods(["GET", "HEAD", "POST"])
def checkin_preferences(request: HttpRequest, token: str) -> HttpResponse:
    """The client turns reminders off, or stops check-ins (which tells the therapist)."""
    kiosk.end_if_idle(request)
    link = _link_for_this_device(token, request)
    if link is None:
        return closed_page(request)
    draft = draft_of(link)
    language = _language(request, draft, link)
    client = link.session.episode.client
    context = {"token": token, "lang": language, "saved": None}
    if request.method == "POST":
        choice = request.POST.get("choice", "")
        if choice not in preferences.CHOICES:
            return HttpResponse(status=400)
        preferences.apply_choice(client, choice, link=link)
        if choice == preferences.STOP:
            with translation.override(language):
                return render(request, "checkin/stopped.html", context)
        context["saved"] = choice
    context["preference"] = preferences.current(client)
    with translation.override(language):
        return render(request, "checkin/preferences.html", context)


@public
@require_GET
def robots(request: HttpRequest) -> HttpResponse:
    body = "User-agent: *\nDisallow: /q/\nDisallow: /kiosk/\nDisallow: /review/\n"
    return HttpResponse(body, content_type="text/plain")


# --- kiosk mode ---------------------------------------------------------------------


@require_POST
def kiosk_start(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Start the client's check-in on this device and sign the staff member out of it."""
    episode = get_active_episode_or_404(request, public_id, action="checkin.kiosk_start")
    try:
        session = due_session(episode)
    except NoDueSessionError:
        return _schedule_first(request, episode)
    issued = issue_link(
        session,
        channel=Channel.KIOSK,
        created_by=request.user,
        lifetime=kiosk.link_lifetime(),
        request=request,
    )
    # Signs the staff member out of the device (kiosk.hand_to_client).
    kiosk.enter(request, issued.link)
    return redirect(issued.path)


@checkin_page
@require_GET
def kiosk_locked(request: HttpRequest) -> HttpResponse:
    """The neutral screen a kiosk shows between clients; nothing about anyone.

    On a kiosk it also ends a check-in left unfinished (the idle timer of the check-in
    pages comes here): nobody can go back to its answers.
    """
    if kiosk.is_kiosk(request):
        kiosk.end_unfinished(request)
    review.leave(request)
    language = read_language([request.GET.get("lang")])
    with translation.override(language):
        return render(request, "checkin/kiosk_locked.html", {"lang": language})


@require_http_methods(["GET", "POST"])
def kiosk_exit(request: HttpRequest) -> HttpResponse:
    """Staff (signed in again, MFA done) take the device out of kiosk mode."""
    if request.method == "POST":
        link_id = kiosk.leave(request)
        if link_id is not None:
            link = CheckinLink.objects.filter(public_id=link_id).first()
            if link is not None:
                revoke_link(link, request=request, reason="kiosk_exit")
        if review.leave(request):
            audit.record("checkin.review_exit", request=request)
        else:
            audit.record("checkin.kiosk_exit", request=request)
        return redirect("home")
    context = {"in_kiosk": kiosk.is_kiosk(request), "in_review": review.is_reviewing(request)}
    return render(request, "checkin/kiosk_exit.html", context)


# --- "review together" --------------------------------------------------------------


@require_POST
def review_start(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Hand this device to the client, showing their progress; signs the staff member out."""
    episode = get_active_episode_or_404(request, public_id, action="checkin.review_start")
    client = episode.client
    if not client_progress_constructs(client.organisation, client):
        messages.error(
            request,
            gettext("This client is not shown their progress (clinic or client setting)."),
        )
        return redirect("client-detail", public_id=client.public_id)
    review.enter(request, episode)
    return redirect("checkin-review")


@checkin_page
@require_GET
def review_page(request: HttpRequest) -> HttpResponse:
    """The client-safe review screen: this episode's progress, nothing else, no way out.

    Without a current review (none started, ended, or past its lifetime) it is the
    neutral locked screen.
    """
    episode = review.current_episode(request)
    if episode is None:
        return redirect("checkin-kiosk-locked")
    preferred = ClientDemographics.objects.filter(client_id=episode.client_id).values_list(
        "preferred_language", flat=True
    )
    language = read_language([_requested_language(request), preferred.first()])
    return _progress_page(request, episode, language, template="checkin/review.html")


@require_POST
def progress_visibility(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The treating therapist turns this client's own progress view off or back on."""
    hidden = request.POST.get("show") != "on"
    action = "client.progress_hidden" if hidden else "client.progress_shown"
    client = get_active_episode_or_404(request, public_id, action=action).client
    client.progress_hidden = hidden
    client.save(update_fields=["progress_hidden"])
    return redirect(reverse("client-detail", args=[client.public_id]) + "#checkins")


# --- staff: links for a client ------------------------------------------------------


def _schedule_first(request: HttpRequest, episode) -> HttpResponse:
    """Back to the client page: a check-in needs a real session, which staff schedule."""
    messages.error(
        request,
        gettext(
            "There is no session with questionnaires due: schedule the session first "
            "(Next session), then start the check-in."
        ),
    )
    return redirect("client-detail", public_id=episode.client.public_id)


@require_POST
def link_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Create a link for the client's next due session and show it once, with a QR code."""
    import segno

    episode = get_active_episode_or_404(request, public_id, action="checkin.link_issue")
    try:
        session = due_session(episode)
    except NoDueSessionError:
        return _schedule_first(request, episode)
    issued = issue_link(session, channel=Channel.PRINT, created_by=request.user, request=request)
    qr = segno.make(issued.url, error="m").svg_data_uri(scale=6)
    context = {
        "client": episode.client,
        "issued": issued,
        "qr_data_uri": qr,
        "session": session,
        "reach": sending.reach_of(episode.client),
    }
    return render(request, "checkin/link_created.html", context)


def _staff_link_or_404(request: HttpRequest, public_id: uuid.UUID) -> CheckinLink:
    """The link ``public_id`` of an episode the user treats or supervises; else 404."""
    require_permission(request.user, READ_CLINICAL)
    link = (
        CheckinLink.objects.filter(
            public_id=public_id, session__episode__in=episodes_for(request.user)
        )
        .select_related("session__episode__client")
        .first()
    )
    if link is None:
        raise Http404
    return link


@require_POST
def link_revoke(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Revoke one link; links outside the user's caseload do not exist (404)."""
    link = _staff_link_or_404(request, public_id)
    # Revoking cannot be undone (a new link can be issued): the form's box says so.
    if request.POST.get("confirm") != "on":
        messages.error(
            request,
            gettext(
                "Not revoked: tick the box to confirm you understand the client will no "
                "longer be able to open this link."
            ),
        )
    else:
        revoke_link(link, user=request.user, request=request)
        messages.success(request, gettext("Link revoked: the client can no longer open it."))
    return redirect("client-detail", public_id=link.session.episode.client.public_id)


@require_POST
def link_send(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """Send the client a check-in for this open link's session, by e-mail or text message.

    From the QR page and the client page. The message carries a fresh link (the shown
    one's token is not kept); its status is on the client page, where this returns.
    """
    link = _staff_link_or_404(request, public_id)
    back = reverse("client-detail", args=[link.session.episode.client.public_id])
    try:
        message = sending.send_link(
            link, request.POST.get("channel") or "none", request=request, session=link.session
        )
    except sending.NotSendable as refusal:
        messages.error(request, gettext("Not sent: %s") % refusal)
        return redirect(back + "#checkins")
    sent, sentence = sending.sent_sentence(message)
    (messages.success if sent else messages.warning)(request, sentence)
    return redirect(back + "#checkins")
