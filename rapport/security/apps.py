from django.apps import AppConfig


class SecurityConfig(AppConfig):
    name = "rapport.security"
    label = "security"
    verbose_name = "Security and audit"

    def ready(self) -> None:
        # Registers the key checks (rapport.E001-E003) with Django's check framework.
        from rapport.security import checks  # noqa: F401
