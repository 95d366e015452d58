from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "rapport.security"
    label = "security"
    verbose_name = "Security and audit"
