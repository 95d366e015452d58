"""``/episodes`` and ``/sessions``: courses of therapy in scope and their sessions."""

from __future__ import annotations

import uuid

from django.http import HttpRequest
from ninja import Query, Router, Schema

from rapport.api.errors import ERROR_RESPONSES
from rapport.api.pagination import PageParams, page_schema, paginate
from rapport.api.request_audit import record_request
from rapport.api.routes.common import clinical_read, date_range, get_in_scope
from rapport.api.schemas import EpisodeOut, SessionOut
from rapport.clinic.models import Episode, EpisodeStatus, Session, SessionStatus
from rapport.core.date_range import BoundedDate
from rapport.security.access import episodes_for

router = Router(tags=["episodes and sessions"])
EpisodePage = page_schema(EpisodeOut, "EpisodePage")
SessionPage = page_schema(SessionOut, "SessionPage")


class EpisodeFilters(Schema):
    client: uuid.UUID | None = None
    status: EpisodeStatus | None = None
    started_from: BoundedDate | None = None
    started_to: BoundedDate | None = None


class SessionFilters(Schema):
    episode: uuid.UUID | None = None
    status: SessionStatus | None = None
    scheduled_from: BoundedDate | None = None
    scheduled_to: BoundedDate | None = None


def _episodes(request: HttpRequest):
    return episodes_for(request.user).select_related("client", "therapist")


def _sessions(request: HttpRequest):
    return Session.objects.filter(episode__in=episodes_for(request.user)).select_related("episode")


@router.get("/episodes", response={200: EpisodePage, **ERROR_RESPONSES}, url_name="episodes")
def list_episodes(
    request: HttpRequest, page: Query[PageParams], filters: Query[EpisodeFilters]
) -> dict:
    clinical_read(request)
    episodes = _episodes(request).order_by("started_on", "pk")
    if filters.client is not None:
        episodes = episodes.filter(client__public_id=filters.client)
    if filters.status is not None:
        episodes = episodes.filter(status=filters.status)
    episodes = date_range(episodes, "started_on", filters.started_from, filters.started_to)
    result = paginate(episodes, page)
    record_request(request, object_type="clinic.episode", count=len(result["items"]))
    return result


@router.get(
    "/episodes/{episode_id}",
    response={200: EpisodeOut, **ERROR_RESPONSES},
    url_name="episode",
)
def get_episode(request: HttpRequest, episode_id: uuid.UUID) -> Episode:
    clinical_read(request)
    episode = get_in_scope(_episodes(request), episode_id)
    record_request(request, obj=episode)
    return episode


@router.get("/sessions", response={200: SessionPage, **ERROR_RESPONSES}, url_name="sessions")
def list_sessions(
    request: HttpRequest, page: Query[PageParams], filters: Query[SessionFilters]
) -> dict:
    clinical_read(request)
    sessions = _sessions(request).order_by("scheduled_at", "pk")
    if filters.episode is not None:
        sessions = sessions.filter(episode__public_id=filters.episode)
    if filters.status is not None:
        sessions = sessions.filter(status=filters.status)
    sessions = date_range(
        sessions, "scheduled_at__date", filters.scheduled_from, filters.scheduled_to
    )
    result = paginate(sessions, page)
    record_request(request, object_type="clinic.session", count=len(result["items"]))
    return result


@router.get(
    "/sessions/{session_id}",
    response={200: SessionOut, **ERROR_RESPONSES},
    url_name="session",
)
def get_session(request: HttpRequest, session_id: uuid.UUID) -> Session:
    clinical_read(request)
    session = get_in_scope(_sessions(request), session_id)
    record_request(request, obj=session)
    return session
