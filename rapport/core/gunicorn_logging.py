"""gunicorn's access log with check-in tokens hidden.

A check-in path carries the link's token, which is a capability: whoever reads it in an
access log could answer in the client's name. gunicorn writes its access log itself,
outside Django's logging, so the same redaction is applied to its request atoms here.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from rapport.checkin.log_redaction import redact

# Request line, path, query string and referer: everything that can echo the URL.
URL_ATOMS = ("r", "U", "q", "f")


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in URL_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
