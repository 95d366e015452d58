"""The tamper-evident audit trail (see :mod:`rapport.security.audit` and docs/security.md)
and the counters every rate limit shares (:mod:`rapport.security.ratelimit`).

``AuditEvent`` rows are append-only: database triggers refuse UPDATE and DELETE (the one
exception is the documented purge path). Each row carries an HMAC over the previous
row's MAC and its own canonical content, within its lane (one of up to ``audit.LANES``
parallel chains); ``AuditChainHead`` records where each lane's chain starts and ends,
MACed too, so that a deleted tail is noticed.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class AuditEvent(models.Model):
    """Who did what to which record, when, from where, and with what outcome.

    Only ids and codes: never client names, answers or other health information.
    """

    lane = models.PositiveSmallIntegerField(
        default=1, db_default=1, help_text="Which of the parallel chains holds the entry."
    )
    seq = models.PositiveBigIntegerField(help_text="Position in its lane's chain.")
    occurred_at = models.DateTimeField(default=timezone.now)
    actor_id = models.PositiveBigIntegerField(null=True, blank=True)
    actor_username = models.CharField(max_length=150, blank=True)
    actor_role = models.CharField(max_length=20, blank=True)
    ip_address = models.CharField(max_length=45, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    object_type = models.CharField(max_length=64, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    outcome = models.CharField(max_length=16, default="success")
    detail = models.JSONField(default=dict, blank=True)
    key_id = models.CharField(max_length=16)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["lane", "seq"], name="audit_event_lane_seq"),
        ]
        indexes = [
            models.Index(fields=["object_type", "object_id"]),
            models.Index(fields=["actor_id", "occurred_at"]),
            models.Index(fields=["occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.outcome}"


class AuditChainHead(models.Model):
    """The row that says where one lane's chain starts and ends (``id`` is the lane).

    ``first_seq``/``start_mac``: the first entry still stored and the MAC it chains from
    (the genesis value, or the last purged entry's MAC). ``last_seq``/``last_mac``: the
    newest entry. ``mac`` covers all four, so nobody without the audit key can move the
    end back after deleting the newest entries. An append locks its lane's row
    (PostgreSQL ``SELECT ... FOR UPDATE``), which keeps concurrent writers of one lane
    from forking its chain.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    first_seq = models.PositiveBigIntegerField(default=1)
    start_mac = models.CharField(max_length=64, blank=True)
    last_seq = models.PositiveBigIntegerField(default=0)
    last_mac = models.CharField(max_length=64, blank=True)
    key_id = models.CharField(max_length=16, blank=True)
    mac = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"audit chain {self.first_seq}..{self.last_seq}"


class AuditCheckpoint(models.Model):
    """A signed record of one retention purge: entries up to ``through_seq`` removed.

    Append-only like the events. ``through_mac`` is the MAC of the last removed entry;
    the verifier starts the chain from it.
    """

    created_at = models.DateTimeField(default=timezone.now)
    lane = models.PositiveSmallIntegerField(default=1, db_default=1)
    through_seq = models.PositiveBigIntegerField()
    through_mac = models.CharField(max_length=64)
    removed = models.PositiveBigIntegerField()
    cutoff = models.DateTimeField()
    key_id = models.CharField(max_length=16)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["lane", "through_seq"]

    def __str__(self) -> str:
        return f"purged through #{self.through_seq}"


class AuditPurgePermit(models.Model):
    """Present only inside a purge transaction; the append-only triggers check for it.

    A row is inserted and deleted within the same transaction, so it is never visible to
    any other connection (see ``audit._deletion_permitted``).
    """

    nonce = models.CharField(max_length=32, unique=True)

    def __str__(self) -> str:
        return "audit purge permit"


class RateLimitCounter(models.Model):
    """Requests counted per (bucket, one-minute window), shared by every server process.

    One table for every rate limit (check-in pages, API tokens), so no cache server is
    needed; see :mod:`rapport.security.ratelimit`. UNLOGGED on PostgreSQL (migration
    ``security.0004``): the counts only matter for a minute.
    """

    bucket = models.CharField(max_length=80)
    window_start = models.BigIntegerField()
    hits = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bucket", "window_start"], name="rate_limit_window")
        ]

    def __str__(self) -> str:
        return f"{self.bucket} @ {self.window_start}: {self.hits}"
