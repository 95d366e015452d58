from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "rapport.api"
    label = "api"
    verbose_name = "REST API"
