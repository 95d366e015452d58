"""Clinic records: organisations, clients, episodes of care, sessions and measurements.

Identifying details live in :class:`ClientIdentity`, apart from the pseudonymous
:class:`Client`, so that they can be protected (and destroyed on erasure) on their own.
Scores stored on :class:`Administration` are a cache of the instrument's scoring rules
applied to the stored answers and can always be recomputed from them.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.clinic import demographics
from rapport.instruments.model import total_is_estimated
from rapport.security.fields import EncryptedDateField, EncryptedTextField


class TrustAnswersAudience(models.TextChoices):
    """Who may read a client's answers about their trust in the therapist."""

    THERAPIST = "therapist", _("The therapist (and their supervisors)")
    SUPERVISORS = "supervisors", _("Supervisors only, not the therapist")


class ClientProgress(models.TextChoices):
    """What a client is shown of their own results after a check-in and in "review together"."""

    OFF = "off", "Nothing (the default)"
    SYMPTOMS = "symptoms", "Symptom questionnaires"
    SYMPTOMS_AND_RELATIONSHIP = (
        "symptoms_and_relationship",
        "Symptom questionnaires, and trust and alliance where the therapist reads them",
    )


class Organisation(models.Model):
    """A clinic or practice: the boundary that no record ever crosses."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    # A clinic-wide choice, told to clients on the check-in page before they answer.
    trust_answers_audience = models.CharField(
        max_length=20, choices=TrustAnswersAudience.choices, default=TrustAnswersAudience.THERAPIST
    )
    # Off by default: showing clients their scores is a clinical choice the clinic makes
    # (rapport.security.access.client_progress_constructs, docs/client-feedback.md).
    client_progress = models.CharField(
        max_length=30, choices=ClientProgress.choices, default=ClientProgress.OFF
    )

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(max_length=200)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organisation", "name"], name="site_name_unique")
        ]

    def __str__(self) -> str:
        return self.name


class Client(models.Model):
    """A client, known to staff screens by a pseudonymous record number."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="clients")
    site = models.ForeignKey(Site, on_delete=models.SET_NULL, null=True, blank=True)
    record_number = models.CharField(max_length=40)
    created_at = models.DateTimeField(default=timezone.now)
    # The treating therapist's choice: this client is not shown their own progress.
    progress_hidden = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "record_number"], name="client_record_number_unique"
            )
        ]

    def __str__(self) -> str:
        return self.record_number


class ClientIdentity(models.Model):
    """Who the client is: names, contact details and free-text self-descriptions.

    Every field is encrypted (AES-GCM, see rapport/security/crypto.py), so none can be
    searched by value; nothing looks clients up by e-mail or name yet, hence no blind
    index. The coarse codes in :class:`ClientDemographics` stay in plain columns so that
    equity analyses can group by them; the free-text self-descriptions live here.
    Erasure deletes this row (rapport/security/rights.py).
    """

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="identity")
    given_name = EncryptedTextField(max_length=200, blank=True)
    family_name = EncryptedTextField(max_length=200, blank=True)
    email = EncryptedTextField(max_length=320, blank=True)
    phone = EncryptedTextField(max_length=40, blank=True)
    date_of_birth = EncryptedDateField(null=True, blank=True)
    gender_self_description = EncryptedTextField(max_length=200, blank=True)
    ethnicity_self_description = EncryptedTextField(max_length=200, blank=True)

    def __str__(self) -> str:
        return f"identity of {self.client}"


class ClientDemographics(models.Model):
    """Coarse self-reported categories used for equity analysis (see demographics.py)."""

    client = models.OneToOneField(Client, on_delete=models.CASCADE, related_name="demographics")
    race_ethnicity = models.JSONField(default=list, blank=True)
    gender = models.CharField(max_length=20, choices=list(demographics.GENDER.items()), blank=True)
    preferred_language = models.CharField(
        max_length=10, choices=list(demographics.LANGUAGE.items()), default="en"
    )
    age_band = models.CharField(
        max_length=10, choices=[(b, b) for b in demographics.AGE_BANDS], blank=True
    )

    def __str__(self) -> str:
        return f"demographics of {self.client}"

    def clean(self) -> None:
        self.race_ethnicity = demographics.validate_race_ethnicity(list(self.race_ethnicity))


class MeasurementPlan(models.Model):
    """Which instruments are given at which sessions of an episode."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="plans")
    name = models.CharField(max_length=200)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=models.Q(is_default=True),
                name="one_default_plan_per_organisation",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def instruments_due(self, session_number: int) -> list[str]:
        """Instrument ids due at the given session number (1-based), in plan order."""
        return [entry.instrument_id for entry in self.entries.all() if entry.is_due(session_number)]


class PlanEntry(models.Model):
    plan = models.ForeignKey(MeasurementPlan, on_delete=models.CASCADE, related_name="entries")
    instrument_id = models.CharField(max_length=64)
    every_n_sessions = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1)]
    )
    first_session = models.PositiveSmallIntegerField(default=1, validators=[MinValueValidator(1)])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "instrument_id"], name="plan_entry_unique"),
            models.CheckConstraint(
                condition=models.Q(every_n_sessions__gte=1), name="plan_entry_every_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} every {self.every_n_sessions} from {self.first_session}"

    def is_due(self, session_number: int) -> bool:
        if session_number < self.first_session:
            return False
        return (session_number - self.first_session) % self.every_n_sessions == 0


class EpisodeStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")


class EndReason(models.TextChoices):
    COMPLETED = "completed", _("Completed treatment")
    DROPOUT = "dropout", _("Dropped out")
    REFERRED = "referred", _("Referred elsewhere")
    OTHER = "other", _("Other")


class Episode(models.Model):
    """One course of therapy for one client with one therapist."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="episodes")
    therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="episodes"
    )
    plan = models.ForeignKey(MeasurementPlan, on_delete=models.PROTECT, related_name="episodes")
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=EpisodeStatus.choices, default=EpisodeStatus.ACTIVE
    )
    end_reason = models.CharField(max_length=20, choices=EndReason.choices, blank=True)

    class Meta:
        indexes = [models.Index(fields=["therapist", "status"])]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(status="active", ended_on__isnull=True, end_reason="")
                    | models.Q(status="closed", ended_on__isnull=False) & ~models.Q(end_reason="")
                ),
                name="episode_end_consistent",
            ),
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True)
                | models.Q(ended_on__gte=models.F("started_on")),
                name="episode_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client} with {self.therapist} from {self.started_on}"


class Handover(models.Model):
    """One move of an active episode from its treating therapist to a colleague.

    Kept so that the former therapist, who can no longer open the client's record, is
    told where the client went and when (and nothing else) when they follow an old link.
    """

    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="handovers")
    from_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    to_therapist = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    handed_over_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["from_therapist", "episode"])]

    def __str__(self) -> str:
        return (
            f"{self.episode} handed over to {self.to_therapist} on {self.handed_over_at:%Y-%m-%d}"
        )


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    ATTENDED = "attended", _("Attended")
    MISSED = "missed", _("Missed")
    CANCELLED = "cancelled", _("Cancelled")


class Session(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="sessions")
    number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    scheduled_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )

    class Meta:
        ordering = ["episode", "number"]
        constraints = [
            models.UniqueConstraint(fields=["episode", "number"], name="session_number_unique"),
            models.CheckConstraint(
                condition=models.Q(number__gte=1), name="session_number_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"session {self.number} of {self.episode}"


class AdministrationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("In progress")
    COMPLETED = "completed", _("Completed")
    EXPIRED = "expired", _("Expired")
    DECLINED = "declined", _("Declined")


class Administration(models.Model):
    """One version of one instrument given at one session, with answers and scores."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # No index of its own: the unique (session, instrument_id) constraint's index serves
    # lookups by session, and a second one would be written on every stored score.
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="administrations", db_index=False
    )
    instrument_id = models.CharField(max_length=64)
    instrument_version = models.CharField(max_length=32)
    # Denormalised from the instrument definition (ids never change construct) so that
    # caseload and insight queries can pick "latest trust score" without loading YAML.
    construct = models.CharField(max_length=20)
    status = models.CharField(
        max_length=12, choices=AdministrationStatus.choices, default=AdministrationStatus.PENDING
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    answers = models.JSONField(default=dict, blank=True)
    total = models.FloatField(null=True, blank=True)
    subscales = models.JSONField(default=dict, blank=True)
    band = models.CharField(max_length=60, blank=True)
    flags = models.JSONField(default=list, blank=True)
    missing = models.JSONField(default=list, blank=True)

    class Meta:
        indexes = [models.Index(fields=["instrument_id", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "instrument_id"], name="one_administration_per_instrument"
            ),
            models.CheckConstraint(
                condition=~models.Q(status="completed") | models.Q(completed_at__isnull=False),
                name="completed_has_timestamp",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instrument_id} v{self.instrument_version} at {self.session}"

    @property
    def total_is_estimated(self) -> bool:
        """Whether the total stands in for unanswered items (prorated, or a partial mean).

        ``missing`` lists only scored items, so any entry next to a total means one.
        """
        return total_is_estimated(self.total, self.missing)

    def apply_scores(self, result) -> None:
        """Store a :class:`rapport.instruments.ScoreResult` computed from ``self.answers``."""
        self.total = result.total
        self.subscales = dict(result.subscales)
        self.band = result.band or ""
        self.flags = list(result.flags)
        self.missing = list(result.missing)


class ConsentKind(models.TextChoices):
    CARE = "care", _("Measurement-based care (questionnaires used in my therapy)")
    RESEARCH = "research", _("Research use of my de-identified answers")


class Consent(models.Model):
    """One consent decision by a client; the newest row per kind is the one in force.

    Rows are never edited: a change of mind is a new row, so the history of what the
    client agreed to, and when, stays available. Change consents through
    ``rapport.security.rights.set_consent`` so that every change is audited.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    granted = models.BooleanField()
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["recorded_at", "id"]
        indexes = [models.Index(fields=["client", "kind", "recorded_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {'granted' if self.granted else 'withdrawn'} for {self.client}"
