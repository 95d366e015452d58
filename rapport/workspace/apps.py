from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "rapport.workspace"
    label = "workspace"
    verbose_name = "Therapist workspace"
