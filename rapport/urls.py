from django.urls import include, path

urlpatterns = [
    path("", include("rapport.workspace.urls")),
    path("accounts/", include("rapport.accounts.urls")),
    path("api/v1/", include("rapport.api.urls")),
    path("", include("rapport.checkin.urls")),
    path("insights/", include("rapport.insights.urls")),
]
