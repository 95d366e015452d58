from django.apps import AppConfig


class ClinicConfig(AppConfig):
    name = "rapport.clinic"
    label = "clinic"
    verbose_name = "Clinic records"
