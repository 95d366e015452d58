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
checked, so even the right password waits for the cool-off. The right password alone
does not clear the failures: only a completed second step (MFA) does, so someone with a
stolen password but no phone cannot reset the count. A clinic admin sees locked accounts
on the staff pages and can lift a lock at once. Unknown usernames are
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


def _lock_end(
    rule: Rule, newest_first: list[datetime.datetime], now: datetime.datetime
) -> datetime.datetime | None:
    """When ``rule`` locks, given failure times newest first, or None if it does not."""
    latest = newest_first[: rule.limit]
    if len(latest) < rule.limit:
        return None
    newest, oldest = latest[0], latest[-1]
    if newest - oldest <= WINDOW and now < newest + COOLOFF:
        return newest + COOLOFF
    return None


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
        end = _lock_end(rule, latest, now)
        if end is not None:
            ends.append(end)
    return max(ends) if ends else None


def locked_accounts(
    usernames: list[str], *, now: datetime.datetime | None = None
) -> dict[str, datetime.datetime]:
    """The accounts among ``usernames`` that a username rule locks from some address,
    each with when its lock ends: what a clinic admin sees as "locked".

    The address-only rule is left out: it locks a network, not an account.
    """
    now = now or timezone.now()
    by_name = {normalise_username(name): name for name in usernames}
    recent = (
        LoginFailure.objects.filter(username__in=by_name, occurred_at__gte=now - WINDOW - COOLOFF)
        .order_by("-occurred_at")
        .values_list("username", "ip_address", "occurred_at")
    )
    times: dict[tuple[str, str | None], list[datetime.datetime]] = {}
    for username, ip, occurred_at in recent:
        times.setdefault((username, None), []).append(occurred_at)
        times.setdefault((username, ip or ""), []).append(occurred_at)
    locked: dict[str, datetime.datetime] = {}
    for (username, ip), newest_first in times.items():
        for rule in RULES:
            if not rule.by_username or rule.by_ip != (ip is not None):
                continue
            end = _lock_end(rule, newest_first, now)
            if end is not None:
                name = by_name[username]
                locked[name] = max(end, locked.get(name, end))
    return locked


def record_failure(username: str, ip: str | None, *, now: datetime.datetime | None = None) -> None:
    now = now or timezone.now()
    LoginFailure.objects.filter(occurred_at__lt=now - RETENTION).delete()
    LoginFailure.objects.create(
        username=normalise_username(username), ip_address=ip, occurred_at=now
    )


def clear_failures(username: str) -> None:
    """Forget a username's failures: after a complete sign-in (password and MFA), or
    when a clinic admin unlocks the account. This lifts its lock from every address."""
    LoginFailure.objects.filter(username=normalise_username(username)).delete()
