"""Server-side sessions stored under a hash of their key, so a database copy holds none.

Django's database store keys each row by the session key itself, which is also the
cookie value: anyone holding a copy of the database (a backup, a stolen SQLite file) can
set that cookie and be signed in. This store keeps the same rows, keyed by the SHA-256
of the session key instead (its first 40 hex digits, the width of Django's column:
160 bits). The cookie still carries the key; a row alone cannot be turned back into one.
Signing out, timeouts and :func:`rapport.accounts.signout.end_sessions_of` delete the
rows as before, so revocation stays server-side.
"""

from __future__ import annotations

import hashlib

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

# Django's session_key column is 40 characters wide.
STORED_KEY_LENGTH = 40


def stored_session_key(session_key: str) -> str:
    """What the database holds for the session whose cookie carries ``session_key``."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:STORED_KEY_LENGTH]


class SessionStore(DatabaseSessionStore):
    """Django's database session store, with rows keyed by :func:`stored_session_key`."""

    def _get_session_from_db(self):
        try:
            return self.model.objects.get(
                session_key=stored_session_key(self.session_key),
                expire_date__gt=timezone.now(),
            )
        except (self.model.DoesNotExist, SuspiciousOperation):
            self._session_key = None

    async def _aget_session_from_db(self):
        try:
            return await self.model.objects.aget(
                session_key=stored_session_key(self.session_key),
                expire_date__gt=timezone.now(),
            )
        except (self.model.DoesNotExist, SuspiciousOperation):
            self._session_key = None

    def exists(self, session_key):
        return self.model.objects.filter(session_key=stored_session_key(session_key)).exists()

    async def aexists(self, session_key):
        stored = stored_session_key(session_key)
        return await self.model.objects.filter(session_key=stored).aexists()

    def create_model_instance(self, data):
        return self.model(
            session_key=stored_session_key(self._get_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=self.get_expiry_date(),
        )

    async def acreate_model_instance(self, data):
        return self.model(
            session_key=stored_session_key(await self._aget_or_create_session_key()),
            session_data=self.encode(data),
            expire_date=await self.aget_expiry_date(),
        )

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self.model.objects.filter(session_key=stored_session_key(session_key)).delete()

    async def adelete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        await self.model.objects.filter(session_key=stored_session_key(session_key)).adelete()
