"""Sign-in lockout after repeated failures, kept in the database (no Redis needed).

Three rules, each "N failures within WINDOW locks for COOLOFF after the N-th":

* the same username from the same address: 5 (the ordinary case: someone guessing);
* the same username from any address: 10 (guessing spread over many addresses; with the
  cool-off this allows well under 100 guesses per account per hour);
* any username from the same address: 20 (password spraying). Higher than the first rule
  because a whole clinic often shares one address, and one person's typos must not lock
  out their colleagues.

The lock ends on its own after the cool-off (15 minutes); there is no permanent lock, so
a stranger can at worst delay one account by 15 minutes at a time (ASVS 6.1.1). Attempts
refused while locked are not counted, and they are refused before the password is
checked, so even the right password waits for the cool-off. Unknown usernames are
counted and locked exactly like real ones, so the lockout reveals nothing about which
accounts exist.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from rapport.accounts.models import LoginFailure

WINDOW = datetime.timedelta(minutes=15)
COOLOFF = datetime.timedelta(minutes=15)
# Failures older than this are deleted when a new one is recorded.
RETENTION = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    by_username: bool
    by_ip: bool


RULES = (
    Rule("username_and_address", 5, by_username=True, by_ip=True),
    Rule("username", 10, by_username=True, by_ip=False),
    Rule("address", 20, by_username=False, by_ip=True),
)


def normalise_username(raw: str) -> str:
    """The form failures are counted under: case and surrounding spaces do not matter."""
    return raw.strip().casefold()[:150]


def _failures(rule: Rule, username: str, ip: str | None):
    condition = Q()
    if rule.by_username:
        condition &= Q(username=username)
    if rule.by_ip:
        condition &= Q(ip_address=ip) if ip else Q(ip_address__isnull=True)
    return LoginFailure.objects.filter(condition)


def locked_until(
    username: str, ip: str | None, *, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When the lock on this username/address ends, or None if sign-in may be tried."""
    now = now or timezone.now()
    username = normalise_username(username)
    ends: list[datetime.datetime] = []
    for rule in RULES:
        latest = list(
            _failures(rule, username, ip)
            .order_by("-occurred_at")
            .values_list("occurred_at", flat=True)[: rule.limit]
        )
        if len(latest) < rule.limit:
            continue
        newest, oldest = latest[0], latest[-1]
        if newest - oldest <= WINDOW and now < newest + COOLOFF:
            ends.append(newest + COOLOFF)
    return max(ends) if ends else None


def record_failure(username: str, ip: str | None, *, now: datetime.datetime | None = None) -> None:
    now = now or timezone.now()
    LoginFailure.objects.filter(occurred_at__lt=now - RETENTION).delete()
    LoginFailure.objects.create(
        username=normalise_username(username), ip_address=ip, occurred_at=now
    )


def clear_failures(username: str) -> None:
    """Forget a username's failures after it signs in successfully."""
    LoginFailure.objects.filter(username=normalise_username(username)).delete()
