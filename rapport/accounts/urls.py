from django.urls import path

from rapport.accounts import password_views, settings_views, staff_views, views

urlpatterns = [
    path("login/", views.login, name="login"),
    path("logout/", views.logout, name="logout"),
    path("mfa/", views.mfa_verify, name="mfa-verify"),
    path("mfa/enrol/", views.mfa_enrol, name="mfa-enrol"),
    path("settings/", settings_views.account_settings, name="account-settings"),
    path("password/choose/", password_views.password_choose, name="password-choose"),
    path("password/change/", password_views.password_change, name="password-change"),
    path("password/forgot/", password_views.password_forgot, name="password-forgot"),
    path("password/reset/", password_views.password_reset, name="password-reset"),
    path("staff/", staff_views.staff_list, name="staff-list"),
    path("staff/new/", staff_views.staff_create, name="staff-create"),
    path("staff/<uuid:public_id>/", staff_views.staff_edit, name="staff-edit"),
    path("staff/<uuid:public_id>/reset-mfa/", staff_views.staff_reset_mfa, name="staff-reset-mfa"),
    path("staff/<uuid:public_id>/unlock/", staff_views.staff_unlock, name="staff-unlock"),
    path(
        "staff/<uuid:public_id>/reset-password/",
        staff_views.staff_reset_password,
        name="staff-reset-password",
    ),
    path(
        "staff/<uuid:public_id>/move-caseload/",
        staff_views.staff_move_caseload,
        name="staff-move-caseload",
    ),
]
