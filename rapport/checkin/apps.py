from django.apps import AppConfig


class CheckinConfig(AppConfig):
    """Client check-ins: one-time links, the client's form, kiosk mode, delivery, alerts."""

    name = "rapport.checkin"
    label = "checkin"
    verbose_name = "Client check-ins"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from rapport.checkin.synthetic import (
            give_risk_answers_their_history,
            open_synthetic_checkins,
        )
        from rapport.clinic.signals import synthetic_checkins_open, synthetic_history_written

        synthetic_checkins_open.connect(
            open_synthetic_checkins, dispatch_uid="checkin-open-synthetic-checkins"
        )
        synthetic_history_written.connect(
            give_risk_answers_their_history, dispatch_uid="checkin-synthetic-risk-history"
        )
