from django.urls import path

from rapport.safety_plans import views

urlpatterns = [
    path("episodes/<uuid:public_id>/safety-plan/", views.safety_plan, name="episode-safety-plan"),
    path(
        "episodes/<uuid:public_id>/safety-plan/print/",
        views.safety_plan_print,
        name="episode-safety-plan-print",
    ),
]
