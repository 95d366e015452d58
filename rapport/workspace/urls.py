from django.urls import path

from rapport.workspace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("clients/new/", views.client_new, name="client-new"),
    path("clients/<uuid:public_id>/", views.client_detail, name="client-detail"),
    path("clients/<uuid:public_id>/contact/", views.client_contact, name="client-contact"),
    path("episodes/<uuid:public_id>/brief/", views.episode_brief, name="episode-brief"),
    path(
        "episodes/<uuid:public_id>/acknowledge/",
        views.acknowledge_alert,
        name="episode-acknowledge",
    ),
    path(
        "episodes/<uuid:public_id>/resolve-risk/",
        views.resolve_risk,
        name="episode-resolve-risk",
    ),
    path(
        "episodes/<uuid:public_id>/talk-discussed/",
        views.talk_discussed,
        name="episode-talk-discussed",
    ),
    path("episodes/<uuid:public_id>/plan/", views.episode_plan, name="episode-plan"),
    path("episodes/<uuid:public_id>/close/", views.episode_close, name="episode-close"),
    path("episodes/<uuid:public_id>/reopen/", views.episode_reopen, name="episode-reopen"),
    path("closed/", views.closed_episodes_list, name="closed-episodes"),
    path(
        "episodes/<uuid:public_id>/hand-over/",
        views.episode_hand_over,
        name="episode-hand-over",
    ),
    path(
        "episodes/<uuid:public_id>/sessions/<int:number>/status/",
        views.session_status,
        name="session-status",
    ),
    path("episodes/<uuid:public_id>/sessions/", views.episode_schedule, name="episode-schedule"),
    path("episodes/<uuid:public_id>/report.pdf", views.episode_report, name="episode-report"),
    path("worklist/", views.worklist, name="worklist"),
    path("worklist/<uuid:public_id>/resend/", views.worklist_resend, name="worklist-resend"),
    path("team/", views.team, name="team"),
]
