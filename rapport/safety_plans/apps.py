from django.apps import AppConfig


class SafetyPlansConfig(AppConfig):
    name = "rapport.safety_plans"
    label = "safety_plans"
    verbose_name = "Safety plans"
