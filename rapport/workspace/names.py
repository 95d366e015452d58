"""Clients' names on the workspace pages, for the people allowed to read them.

Only users for whom :func:`rapport.security.access.may_see_identity` holds (the treating
therapist) get names; everyone else gets an empty mapping and the pages show record
numbers. Names are encrypted, so they are read and decrypted in one query per page for
exactly the clients on it, and matched in Python when searching: a caseload is small, and
a plaintext or blind index of names would be one more copy of identifying data to leak.
Names are for the screen and the therapist's PDF: never put them in audit details, logs
or de-identified exports.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable, Mapping

from rapport.accounts.models import User
from rapport.clinic.models import Client, ClientIdentity
from rapport.security.access import clients_for, may_see_identity


def client_names(user: User, public_ids: Iterable[uuid.UUID | str]) -> dict[str, str]:
    """``str(public_id) -> "Given Family"`` for the clients ``user`` may name (one query).

    Clients without a recorded name are left out; so is everything for a user who may
    not see identities (no query at all then).
    """
    wanted = {str(public_id) for public_id in public_ids}
    if not wanted or not may_see_identity(user):
        return {}
    identities = (
        ClientIdentity.objects.filter(client__public_id__in=wanted, client__in=clients_for(user))
        .select_related("client")
        .only("given_name", "family_name", "client__public_id")
    )
    names = {}
    for identity in identities:
        name = " ".join(part for part in (identity.given_name, identity.family_name) if part)
        if name:
            names[str(identity.client.public_id)] = name
    return names


def client_name(user: User, client: Client) -> str:
    """One client's name for ``user``, or "" (no name recorded, or not theirs to see)."""
    return client_names(user, [client.public_id]).get(str(client.public_id), "")


def matches(search: str, record_number: str, name: str = "") -> bool:
    """Whether ``search`` is in the record number or the name, ignoring case and accents.

    Every word of the search must match, in any order: "lopez ana" finds "Ana López".
    """
    haystack = _folded(f"{record_number} {name}")
    return all(word in haystack for word in _folded(search).split())


def _folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def name_for(names: Mapping[str, str], public_id: uuid.UUID | str) -> str:
    return names.get(str(public_id), "")
