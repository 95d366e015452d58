"""Cached insight tables and versioned expected-treatment-response fits, per organisation."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from rapport.clinic.models import Organisation


class InsightSnapshot(models.Model):
    """The computed insight pages of one organisation at one moment.

    ``data`` holds only suppressed aggregates (never a client-level row), so pages and CSV
    downloads can be served from it to every role that may see insights. The newest row
    per organisation is the one shown; older rows are deleted on refresh.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="insight_snapshots"
    )
    computed_at = models.DateTimeField(default=timezone.now)
    seconds = models.FloatField(help_text="How long the computation took.")
    data = models.JSONField()

    class Meta:
        indexes = [models.Index(fields=["organisation", "-computed_at"])]

    def __str__(self) -> str:
        return f"insights of {self.organisation} at {self.computed_at:%Y-%m-%d %H:%M}"


class ExpectedResponseFit(models.Model):
    """One fitted expected-treatment-response model; versions are never overwritten.

    The newest version per organisation and instrument drives the not-on-track flag;
    older versions stay so that any past flag can be reproduced from its parameters.
    """

    organisation = models.ForeignKey(
        Organisation, on_delete=models.CASCADE, related_name="expected_response_fits"
    )
    instrument_id = models.CharField(max_length=64)
    version = models.PositiveIntegerField()
    fitted_at = models.DateTimeField(default=timezone.now)
    # ExpectedResponseModel.to_dict(): method, percentiles, coefficients, software versions.
    parameters = models.JSONField()
    n_episodes = models.PositiveIntegerField()
    method = models.CharField(max_length=40)

    class Meta:
        ordering = ["organisation", "instrument_id", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "instrument_id", "version"],
                name="expected_response_version_unique",
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} v{self.version} for {self.organisation}"
