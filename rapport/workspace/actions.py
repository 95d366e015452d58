"""The workspace's writes: acknowledging an alert, changing an episode's plan, scheduling
sessions, recording attendance and closing an episode.

Acknowledging and resolving a risk themselves live in :mod:`rapport.checkin.acknowledgement`
(one path for every caller); this module finds the episode's flag and raises the alert
row a safety answer from imported data lacks.

Each runs in one transaction with its audit entry, so a failed write leaves no event and
an event never describes a write that did not happen.
"""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from rapport.accounts.models import User
from rapport.checkin.acknowledgement import acknowledge_alert
from rapport.checkin.links import revoke_link
from rapport.checkin.models import Alert, AlertKind, CheckinLink
from rapport.clinic.models import (
    Client,
    Episode,
    EpisodeStatus,
    MeasurementPlan,
    PlanEntry,
    Session,
    SessionStatus,
)
from rapport.core.instruments import instrument_of_alert
from rapport.security import audit
from rapport.workspace.client_record import EpisodeView
from rapport.workspace.flags import RiskMarker, ShownFlag
from rapport.workspace.scheduling import session_time_problems


def acknowledgeable_flag(view: EpisodeView, target: str) -> ShownFlag | None:
    """The open flag ``target`` (a :attr:`ShownFlag.ack_key`) of this episode that the
    reader may acknowledge (:attr:`ShownFlag.may_review`), if any."""
    return next(
        (f for f in view.flags if f.acknowledgeable and f.may_review and f.ack_key == target),
        None,
    )


def acknowledge(
    request: HttpRequest,
    view: EpisodeView,
    flag: ShownFlag,
    *,
    contact_method: str = "",
    risk_outcome: str = "",
    note: str = "",
) -> Alert:
    """Acknowledge ``flag`` (from :func:`acknowledgeable_flag`) through
    :func:`rapport.checkin.acknowledgement.acknowledge_alert`.

    A safety answer without an alert row (imported or synthetic data) gets its alert now,
    dated when the answer was given, so time-to-acknowledge stays honest; if the
    acknowledgement is refused, neither is kept. Raises
    :class:`~rapport.checkin.acknowledgement.AcknowledgementError`.
    """
    with transaction.atomic():
        alert = flag.alert or _raise_alert(request, view.episode, view, flag)
        return acknowledge_alert(
            alert,
            request.user,
            contact_method=contact_method,
            risk_outcome=risk_outcome,
            note=note,
            request=request,
        )


def resolvable_marker(view: EpisodeView, alert_public_id: str) -> RiskMarker | None:
    """The episode's risk marker for alert ``alert_public_id``, if it is shown and the
    reader may record it resolved (:attr:`RiskMarker.may_review`)."""
    return next(
        (m for m in view.markers if m.may_review and str(m.alert.public_id) == alert_public_id),
        None,
    )


def _raise_alert(
    request: HttpRequest, episode: Episode, view: EpisodeView, flag: ShownFlag
) -> Alert:
    answered_at = next(
        (
            rows[-1].completed_at
            for rows in view.record.scores.values()
            if rows and rows[-1].session == flag.session and flag.code in rows[-1].flags
        ),
        None,
    )
    # The flag is shown, so its questionnaire is installed.
    instrument = instrument_of_alert(flag.code)
    alert = Alert.objects.create(
        organisation_id=episode.client.organisation_id,
        kind=AlertKind.CRITICAL_ITEM,
        client_id=episode.client_id,
        episode=episode,
        session=Session.objects.get(episode=episode, number=flag.session),
        code=flag.code,
        construct=instrument.construct if instrument is not None else "",
        raised_at=answered_at or timezone.now(),
    )
    audit.record(
        "alert.raise", request=request, obj=alert, detail={"reason": AlertKind.CRITICAL_ITEM}
    )
    return alert


def save_plan(request: HttpRequest, episode: Episode, entries: list[dict]) -> MeasurementPlan:
    """Give ``episode`` the plan ``entries`` (instrument_id, every_n_sessions, first_session).

    The clinic's default plan, or a plan other episodes share, is never changed in place:
    the episode gets its own copy first, so one client's edit changes nobody else's plan.
    """
    with transaction.atomic():
        plan = episode.plan
        shared = (
            plan.is_default or Episode.objects.filter(plan=plan).exclude(pk=episode.pk).exists()
        )
        if shared:
            plan = MeasurementPlan.objects.create(
                organisation_id=episode.client.organisation_id,
                name=f"Plan for {episode.client.record_number}"[:200],
                is_default=False,
            )
            episode.plan = plan
            episode.save(update_fields=["plan"])
        else:
            plan.entries.all().delete()
        PlanEntry.objects.bulk_create(
            PlanEntry(
                plan=plan,
                instrument_id=entry["instrument_id"],
                every_n_sessions=entry["every_n_sessions"],
                first_session=entry["first_session"],
                position=position,
            )
            for position, entry in enumerate(entries)
        )
        audit.record(
            "plan.update",
            request=request,
            obj=episode,
            detail={"fields": [entry["instrument_id"] for entry in entries]},
        )
    return plan


class SchedulingError(ValueError):
    """The sessions cannot be scheduled (the message says why); none was saved."""


def schedule_sessions(
    request: HttpRequest | None, episode: Episode, times: list[datetime.datetime]
) -> list[Session]:
    """Add sessions at ``times`` as the episode's next numbers, all or none; each audited as
    ``session.schedule``.

    The therapist's row is locked while the times are checked again and the numbers
    taken, so two schedules at once (for any of their clients) cannot book one minute
    twice, and get consecutive numbers instead of one failing on the unique number.
    Raises :class:`SchedulingError` when a time is outside the episode or taken.
    """
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=episode.therapist_id).first()
        problems = session_time_problems(episode, times)
        if problems:
            raise SchedulingError(" ".join(problems))
        last = episode.sessions.aggregate(last=Max("number"))["last"] or 0
        sessions = []
        for offset, scheduled_at in enumerate(sorted(times), start=1):
            session = Session.objects.create(
                episode=episode, number=last + offset, scheduled_at=scheduled_at
            )
            audit.record("session.schedule", request=request, obj=session)
            sessions.append(session)
    return sessions


class EpisodeStatusError(ValueError):
    """The episode cannot be closed or reopened as asked (the message says why)."""


def close_episode(
    request: HttpRequest, episode: Episode, ended_on: datetime.date, reason: str
) -> None:
    """Close the active ``episode`` on ``ended_on`` for ``reason``; audited.

    Its open check-in links are revoked, so a link sent earlier no longer opens, and no
    invitation goes out for it any more (delivery only serves active episodes).
    """
    if ended_on < episode.started_on:
        raise EpisodeStatusError(
            _("The last day cannot be before the episode started (%(date)s).")
            % {"date": date_format(episode.started_on, _("j M Y"))}
        )
    with transaction.atomic():
        locked = Episode.objects.select_for_update().get(pk=episode.pk)
        if locked.status != EpisodeStatus.ACTIVE:
            raise EpisodeStatusError(_("This episode is already closed."))
        episode.status, episode.ended_on, episode.end_reason = (
            EpisodeStatus.CLOSED,
            ended_on,
            reason,
        )
        episode.save(update_fields=["status", "ended_on", "end_reason"])
        audit.record("episode.close", request=request, obj=episode, detail={"reason": reason})
        open_links = CheckinLink.objects.filter(
            session__episode=episode, used_at__isnull=True, revoked_at__isnull=True
        )
        for link in open_links:
            revoke_link(link, request=request, reason="episode_closed")


def reopen_episode(request: HttpRequest, episode: Episode) -> None:
    """Make the closed ``episode`` active again (closed by mistake, or the client is back).

    Refused while the client has another active episode: a client's check-ins belong to
    one course of therapy at a time. Links revoked at closing stay revoked; new ones can
    be issued. Audited as ``episode.reopen`` with the end reason it had.
    """
    with transaction.atomic():
        # The client's row first: two of its closed episodes reopened at once wait on it,
        # so the second sees the first active.
        Client.objects.select_for_update().filter(pk=episode.client_id).first()
        locked = Episode.objects.select_for_update().get(pk=episode.pk)
        if locked.status != EpisodeStatus.CLOSED:
            raise EpisodeStatusError(_("This episode is already active."))
        if (
            Episode.objects.filter(client_id=locked.client_id, status=EpisodeStatus.ACTIVE)
            .exclude(pk=locked.pk)
            .exists()
        ):
            raise EpisodeStatusError(_("This client already has an active episode."))
        reason = locked.end_reason
        episode.status, episode.ended_on, episode.end_reason = EpisodeStatus.ACTIVE, None, ""
        episode.save(update_fields=["status", "ended_on", "end_reason"])
        audit.record("episode.reopen", request=request, obj=episode, detail={"reason": reason})


def set_session_status(request: HttpRequest, session: Session, status: str) -> bool:
    """Record whether the client came to ``session``; False when nothing changed.

    A missed or cancelled session's open check-in links are revoked: its questionnaires
    are no longer due, and no invitation goes out for it (delivery serves scheduled
    sessions only).
    """
    if session.status == status:
        return False
    with transaction.atomic():
        session.status = status
        session.save(update_fields=["status"])
        audit.record("session.update", request=request, obj=session, detail={"fields": ["status"]})
        if status in (SessionStatus.MISSED, SessionStatus.CANCELLED):
            open_links = CheckinLink.objects.filter(
                session=session, used_at__isnull=True, revoked_at__isnull=True
            )
            for link in open_links:
                revoke_link(link, request=request, reason=f"session_{status}")
    return True
