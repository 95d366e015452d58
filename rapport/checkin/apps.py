from django.apps import AppConfig


class CheckinConfig(AppConfig):
    """Client check-ins: one-time links, the client's form, kiosk mode, delivery, alerts."""

    name = "rapport.checkin"
    label = "checkin"
    verbose_name = "Client check-ins"
    default_auto_field = "django.db.models.BigAutoField"
