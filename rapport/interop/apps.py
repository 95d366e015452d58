from django.apps import AppConfig


class InteropConfig(AppConfig):
    name = "rapport.interop"
    label = "interop"
    verbose_name = "Import and export (CSV, FHIR, research)"
