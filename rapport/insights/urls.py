from django.urls import path

from rapport.insights import report_views, views

urlpatterns = [
    path("", views.index, name="insights"),
    path("refresh/", views.refresh, name="insights-refresh"),
    path("report.pdf", report_views.quarterly_report, name="insights-report"),
]
for page in views.PAGES:
    slug = page.replace("_", "-")
    urlpatterns += [
        path(f"{slug}/", views.page, {"page": page}, name=f"insights-{slug}"),
        path(f"{slug}.csv", views.download, {"page": page}, name=f"insights-{slug}-csv"),
    ]

# A therapist's relationship profile is feedback for one person, not a clinic aggregate:
# it lives outside /insights/ (rapport/urls.py mounts these at /profile/).
profile_urlpatterns = [
    path("", views.therapist_profile, name="my-profile"),
    path("<uuid:public_id>/", views.therapist_profile, name="therapist-profile"),
]
