from django.urls import path

from rapport.workspace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("clients/<uuid:public_id>/", views.client_detail, name="client-detail"),
]
