from django.urls import path

from rapport.workspace import views

urlpatterns = [
    path("", views.home, name="home"),
]
