from django.urls import path

from rapport.checkin import crisis_admin, safety_settings, views

# Client pages carry the link token in the path (/q/...); staff actions take public UUIDs.
urlpatterns = [
    path("q/<str:token>/", views.checkin_form, name="checkin-form"),
    path("q/<str:token>/draft/", views.checkin_draft, name="checkin-draft"),
    path("q/<str:token>/submit/", views.checkin_submit, name="checkin-submit"),
    path("q/<str:token>/preferences/", views.checkin_preferences, name="checkin-preferences"),
    path("q/<str:token>/progress/", views.checkin_progress, name="checkin-progress"),
    path("review/", views.review_page, name="checkin-review"),
    path("kiosk/", views.kiosk_locked, name="checkin-kiosk-locked"),
    path("kiosk/exit/", views.kiosk_exit, name="checkin-kiosk-exit"),
    path("checkin/clients/<uuid:public_id>/kiosk/", views.kiosk_start, name="checkin-kiosk-start"),
    path("checkin/clients/<uuid:public_id>/link/", views.link_create, name="checkin-link-create"),
    path(
        "checkin/clients/<uuid:public_id>/review/", views.review_start, name="checkin-review-start"
    ),
    path(
        "checkin/clients/<uuid:public_id>/progress/",
        views.progress_visibility,
        name="checkin-progress-visibility",
    ),
    path("checkin/links/<uuid:public_id>/revoke/", views.link_revoke, name="checkin-link-revoke"),
    path("checkin/links/<uuid:public_id>/send/", views.link_send, name="checkin-link-send"),
    path(
        "checkin/safety-notices/",
        safety_settings.safety_notice_settings,
        name="checkin-safety-settings",
    ),
    path("checkin/crisis-contacts/", crisis_admin.crisis_contacts_page, name="crisis-contacts"),
    path("robots.txt", views.robots, name="robots"),
]
