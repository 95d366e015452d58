"""The database states Rapport upgrades from: the previous release, and older test points.

A clinic upgrades a database that the previous release's `rapport migrate` left behind.
``releases.json`` records that state as the leaf migration of every app at the release
(and the checksum of each Rapport migration file it shipped), so the upgrade test can
rebuild such a database from today's migration files, fill it through the historical
models and run today's `migrate` over it, without checking out the old release.

That shortcut is only sound while a shipped migration is never edited; the checksums
let a test hold that promise. When a release is cut, its entry replaces
``previous_release`` (docs/operations.md, "Upgrade").
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

RELEASES_FILE = Path(__file__).with_name("releases.json")


@dataclass(frozen=True)
class MigrationState:
    """Which migrations a database of one release (or older test point) has applied."""

    name: str
    commit: str
    date: str
    # app label -> name of its last applied migration; an app absent here had none.
    migrations: dict[str, str]
    # repository path -> sha256 of the migration files a release shipped.
    migration_files_sha256: dict[str, str] = field(default_factory=dict)

    def targets(self, app_labels: set[str]) -> list[tuple[str, str | None]]:
        """Migration executor targets reaching this state for the apps of today's graph:
        an app the state does not list is left without any migration (``None``)."""
        unknown = set(self.migrations) - app_labels
        if unknown:
            raise ValueError(
                f"{self.name}: apps {sorted(unknown)} have no migrations today; "
                "an app's migrations may never be removed"
            )
        return [(app, self.migrations.get(app)) for app in sorted(app_labels)]


def _state(entry: dict) -> MigrationState:
    return MigrationState(
        name=entry["name"],
        commit=entry["commit"],
        date=entry["date"],
        migrations=dict(entry["migrations"]),
        migration_files_sha256=dict(entry.get("migration_files_sha256", {})),
    )


@cache
def _recorded() -> dict:
    return json.loads(RELEASES_FILE.read_text(encoding="utf-8"))


def previous_release() -> MigrationState:
    return _state(_recorded()["previous_release"])


def upgrade_test_states() -> list[MigrationState]:
    """The previous release, then older states whose upgrade still has to work (a
    clinic may skip a release): each is upgraded to today's schema by the tests."""
    return [previous_release(), *(_state(entry) for entry in _recorded()["older_states"])]
