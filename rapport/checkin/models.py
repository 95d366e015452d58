"""Check-in links, drafts, submissions, delivery records, client preferences and alerts.

A :class:`CheckinLink` covers the administrations due for one session. Only the SHA-256
of its token is stored (the token itself exists in the message or QR code that carried
it), so a database copy holds no usable link. The answers themselves land on the
session's :class:`~rapport.clinic.models.Administration` rows; :class:`CheckinSubmission`
records that a link was used (one row per link at most: the last line of defence against
a double submission) and holds the client's optional free-text comment, encrypted.

:class:`Alert` is the urgent-attention record the therapist workspace shows and
acknowledges: a critical item answered (e.g. PHQ-9 item 9 above 0) or a client who
stopped check-ins. It lives here because check-ins raise it; the workspace reads it via
:func:`rapport.checkin.worklist.open_alerts_for`.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.clinic.models import Client, Episode, Organisation, Session
from rapport.instruments.model import RELATIONSHIP_CONSTRUCTS
from rapport.security.fields import EncryptedTextField


class Channel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("Text message")
    PRINT = "print", _("Printed QR code / shown link")
    KIOSK = "kiosk", _("Clinic tablet (kiosk)")
    CLI = "cli", _("Command line")


class CheckinLink(models.Model):
    """One capability URL for one session's due questionnaires."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Lookups by session use the (session, used_at, revoked_at) index below.
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="checkin_links", db_index=False
    )
    # sha256(token) as 64 hex characters; the token is never stored. Unique through a
    # constraint rather than unique=True, which on PostgreSQL would add a second index
    # for LIKE queries that nothing runs on a hash.
    token_hash = models.CharField(max_length=64)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["session", "used_at", "revoked_at"])]
        constraints = [
            models.UniqueConstraint(fields=["token_hash"], name="checkin_link_token_hash_unique")
        ]

    def __str__(self) -> str:
        return f"check-in link {self.public_id} ({self.channel})"

    def is_open(self, now=None) -> bool:
        now = now or timezone.now()
        return self.used_at is None and self.revoked_at is None and self.expires_at > now

    def state(self, now=None) -> str:
        """``used``, ``revoked``, ``expired`` or ``open`` (for staff screens, never clients)."""
        now = now or timezone.now()
        if self.used_at is not None:
            return "used"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "open"


# Links staff issue and hold (the clinic's tablet, a link or QR code shown on the staff
# screen, the command line), as opposed to links delivered to the client's own address.
STAFF_OPENED_CHANNELS = frozenset({Channel.KIOSK, Channel.PRINT, Channel.CLI})


class CheckinDraft(models.Model):
    """Answers saved as the client goes (autosave), on the link (the device) that saved them.

    Never per session: another link for the same session (a staff member's, the tablet's)
    must neither show nor submit answers the client saved on their own device.
    ``answers`` maps instrument id -> item id -> chosen option value, like
    ``Administration.answers``; the free-text comment is encrypted.
    """

    link = models.OneToOneField(CheckinLink, on_delete=models.CASCADE, related_name="draft")
    answers = models.JSONField(default=dict, blank=True)
    comment = EncryptedTextField(blank=True, default="")
    # "I'd like to talk about how therapy is going" and its optional line, as last saved.
    talk_requested = models.BooleanField(default=False)
    talk_note = EncryptedTextField(blank=True, default="")
    language = models.CharField(max_length=10, default="en")
    screen = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"draft of {self.link}"


class CheckinSubmission(models.Model):
    """The one completed submission of a link (the unique link is the double-submit guard)."""

    link = models.OneToOneField(CheckinLink, on_delete=models.CASCADE, related_name="submission")
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, related_name="checkin_submissions"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    language = models.CharField(max_length=10, default="en")
    # "Is there anything that would make our sessions work better for you?" (optional).
    comment = EncryptedTextField(blank=True, default="")
    # Sent through a link staff issued and held (STAFF_OPENED_CHANNELS), not the client's
    # own: staff read such answers knowing they were given on a clinic device.
    staff_opened = models.BooleanField(default=False)

    def __str__(self) -> str:
        return f"submission of {self.link}"


class CheckinPreference(models.Model):
    """A client's own choices about check-in messages (set from any open check-in link)."""

    client = models.OneToOneField(
        Client, on_delete=models.CASCADE, related_name="checkin_preference"
    )
    reminders_off = models.BooleanField(default=False)
    stopped_at = models.DateTimeField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"check-in preferences of {self.client}"


class MessageKind(models.TextChoices):
    INVITATION = "invitation", _("Invitation")
    REMINDER = "reminder", _("Reminder")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed (gave up)")
    SKIPPED = "skipped", _("Skipped")


class CheckinMessage(models.Model):
    """One scheduled invitation or reminder for one session, with its delivery history."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="checkin_messages")
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    scheduled_for = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    # An exception class and message from the sender; never the message body or address.
    last_error = models.CharField(max_length=300, blank=True)
    link = models.ForeignKey(
        CheckinLink, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["session", "kind"], name="one_message_per_kind")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.kind} for {self.session} by {self.channel}"


class AlertKind(models.TextChoices):
    CRITICAL_ITEM = "critical_item", _("Critical item answered")
    CHECKINS_STOPPED = "checkins_stopped", _("Client stopped check-ins")


class ContactMethod(models.TextChoices):
    """How the clinician reached the client about an alert (docs/safety.md)."""

    IN_SESSION = "in_session", _("In session")
    PHONE = "phone", _("By phone")
    NOT_REACHED = "not_reached", _("Could not reach the client")


class RiskOutcome(models.TextChoices):
    """What the risk review found; the clinical record of an acknowledged safety alert.

    The first three are for symptom answers (self-harm, thoughts of death), the
    ``RELATIONSHIP_*`` ones for answers about the relationship with the therapist
    (:data:`rapport.checkin.acknowledgement.OUTCOMES`).
    """

    NO_CURRENT_RISK = "no_current_risk", _("No current risk")
    RISK_PRESENT_PLAN_REVIEWED = (
        "risk_present_plan_reviewed",
        _("Risk present, safety plan reviewed"),
    )
    EMERGENCY_SERVICES = "emergency_services", _("Emergency services involved")
    # The follow-up of a relationship answer ("I felt safe with my therapist": disagree),
    # recorded by the therapist's supervisor.
    RELATIONSHIP_NO_CONCERN = (
        "relationship_no_concern",
        _("Talked it through with the client: no safety concern remains"),
    )
    RELATIONSHIP_CHANGE_AGREED = (
        "relationship_change_agreed",
        _("Concern confirmed: a change was agreed (for example another therapist)"),
    )
    RELATIONSHIP_PROCEDURE = (
        "relationship_procedure",
        _("Taken up under the clinic's safeguarding or complaints procedure"),
    )


class Alert(models.Model):
    """Something the therapist must look at soon; open until acknowledged.

    Acknowledging a critical-item alert is a clinical record (how the client was reached,
    what the risk review found, a note), written by
    :func:`rapport.checkin.acknowledgement.acknowledge_alert`. The risk it reported stays
    marked on the caseload until a later check-in answers the item below the risk
    threshold or a clinician records the risk as resolved (``resolved_at``).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="alerts")
    episode = models.ForeignKey(
        Episode, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    session = models.ForeignKey(
        Session, on_delete=models.CASCADE, null=True, blank=True, related_name="alerts"
    )
    # A code such as "critical:phq9_9"; never an answer or free text.
    code = models.CharField(max_length=80, blank=True)
    # What the critical item's questionnaire measures ("symptoms", "trust", ...; empty for
    # an alert that is not about an item), kept with the alert so that an answer about
    # the relationship stays one after its questionnaire is uninstalled.
    construct = models.CharField(max_length=20, blank=True, default="")
    raised_at = models.DateTimeField(default=timezone.now)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    acknowledgement_note = EncryptedTextField(blank=True, default="")
    # Empty for alerts acknowledged before the structured record, and for alerts that are
    # not about risk (a client who stopped check-ins).
    contact_method = models.CharField(max_length=20, choices=ContactMethod.choices, blank=True)
    risk_outcome = models.CharField(max_length=40, choices=RiskOutcome.choices, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution_note = EncryptedTextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["organisation", "acknowledged_at"])]

    def __str__(self) -> str:
        return f"{self.kind} alert for {self.client}"

    @property
    def about_the_relationship(self) -> bool:
        """Whether the answer that raised this alert is about the relationship with the
        treating therapist (a trust, alliance or openness questionnaire): its supervisor
        is told and follows it up, not the therapist (docs/safety.md)."""
        return self.construct in RELATIONSHIP_CONSTRUCTS


class TalkRequest(models.Model):
    """A client asked, at the end of a check-in, to talk about how therapy is going.

    Read only through :func:`rapport.security.access.may_see_talk_request` (the treating
    therapist and their supervisor); never in a research export or an aggregate (the
    client's own data export holds it, as their words). Open
    until a clinician marks it discussed (audited): a later check-in without the box
    ticked does not clear it, because the client has not yet been heard (docs/flags.md).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    episode = models.ForeignKey(Episode, on_delete=models.CASCADE, related_name="talk_requests")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="talk_requests")
    raised_at = models.DateTimeField(default=timezone.now)
    # The client's optional line, in their own words.
    note = EncryptedTextField(blank=True, default="")
    discussed_at = models.DateTimeField(null=True, blank=True)
    discussed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["episode", "discussed_at"])]

    def __str__(self) -> str:
        return f"talk request at {self.session}"


class CheckinSettings(models.Model):
    """Per-clinic check-in settings: the crisis resources shown after a critical answer."""

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="checkin_settings"
    )
    # Plain text per language code; empty means the built-in generic wording.
    crisis_resources = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"check-in settings of {self.organisation}"


class NoticeStep(models.TextChoices):
    """Who an urgent alert's notice goes to, in escalation order."""

    THERAPIST = "therapist", _("Treating therapist")
    SUPERVISOR = "supervisor", _("Supervisor")
    FALLBACK = "fallback", _("Clinic fallback contact")


class SafetyNotice(models.Model):
    """One notice of an urgent alert to one recipient by one channel, with its delivery history.

    The message names no client and quotes no answer: it says that a check-in result needs
    review, with the record number, the time and a sign-in link (docs/safety.md). Addresses
    are read at send time, from the recipient's account or the clinic's settings, and are
    never stored here. The unique (alert, step, channel) is the guard against a second
    ``send-due`` run queueing the same step twice.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="notices")
    step = models.CharField(max_length=12, choices=NoticeStep.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # The therapist or supervisor; empty for the clinic's fallback contact.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING
    )
    scheduled_for = models.DateTimeField()
    next_attempt_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    # An exception class and message, or why it was skipped; never the body or address.
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["alert", "step", "channel"], name="one_safety_notice_per_step_and_channel"
            )
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.step} notice of {self.alert} by {self.channel}"


class SafetyNoticeSettings(models.Model):
    """Per-clinic settings of safety notices: text messages, escalation times, fallback.

    A clinic without a row uses the defaults (:func:`safety_notice_settings_for`).
    """

    organisation = models.OneToOneField(
        Organisation, on_delete=models.CASCADE, related_name="safety_notice_settings"
    )
    sms_enabled = models.BooleanField(default=False)
    supervisor_after_minutes = models.PositiveIntegerField(default=120)
    fallback_after_minutes = models.PositiveIntegerField(default=120)
    # A duty phone or inbox of the clinic; may be a person's own, hence encrypted.
    fallback_email = EncryptedTextField(max_length=320, blank=True)
    fallback_phone = EncryptedTextField(max_length=40, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"safety notice settings of {self.organisation}"


def safety_notice_settings_for(organisation_id: int) -> SafetyNoticeSettings:
    """The clinic's saved settings, or unsaved defaults when the admin never saved any."""
    found = SafetyNoticeSettings.objects.filter(organisation_id=organisation_id).first()
    return found or SafetyNoticeSettings(organisation_id=organisation_id)
