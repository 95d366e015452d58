"""gunicorn's access and error logs: check-in tokens hidden, JSON when asked.

A check-in path carries the link's token, which is a capability: whoever reads it in an
access log could answer in the client's name. gunicorn writes its access log itself,
outside Django's logging, so the same redaction is applied to its request atoms here.
With ``RAPPORT_LOG_FORMAT=json`` its lines are JSON objects like Django's (the access
line is the message), so a log collector parses one format.
"""

from __future__ import annotations

from gunicorn.glogging import Logger

from rapport.checkin.log_redaction import redact
from rapport.env import env_str
from rapport.operations.logs import JsonFormatter

# Request line, path, query string and referer: everything that can echo the URL.
URL_ATOMS = ("r", "U", "q", "f")


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # Read here, not from Django's settings: gunicorn sets up logging before it
        # imports the application.
        if env_str("RAPPORT_LOG_FORMAT", "plain") == "json":
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    handler.setFormatter(JsonFormatter())

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in URL_ATOMS:
            if isinstance(atoms.get(key), str):
                atoms[key] = redact(atoms[key])
        return atoms
