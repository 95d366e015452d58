from django.apps import AppConfig


class OperationsConfig(AppConfig):
    name = "rapport.operations"
    label = "operations"
    verbose_name = "Operations: the worker, health and readiness"
