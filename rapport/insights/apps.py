from django.apps import AppConfig


class InsightsConfig(AppConfig):
    name = "rapport.insights"
    label = "insights"
    verbose_name = "Clinic insights"

    def ready(self) -> None:
        from rapport.clinic.signals import administrations_bulk_written

        administrations_bulk_written.connect(
            _summarise_bulk_written, dispatch_uid="insights-summaries-after-bulk-write"
        )


def _summarise_bulk_written(**_kwargs) -> None:
    # Summarise the new administrations now rather than in the first insights request.
    from rapport.insights.summaries import refresh_stale

    refresh_stale()
