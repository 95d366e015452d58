from django.urls import include, path

from rapport.insights.urls import profile_urlpatterns

urlpatterns = [
    # The client's check-in pages first: they take most of a clinic's requests, and no
    # other app's routes start with q/, kiosk/, checkin/ or robots.txt.
    path("", include("rapport.checkin.urls")),
    path("", include("rapport.workspace.urls")),
    path("", include("rapport.safety_plans.urls")),
    path("accounts/", include("rapport.accounts.urls")),
    path("api/v1/", include("rapport.api.urls")),
    path("insights/", include("rapport.insights.urls")),
    path("profile/", include(profile_urlpatterns)),
    path("", include("rapport.operations.urls")),
]
