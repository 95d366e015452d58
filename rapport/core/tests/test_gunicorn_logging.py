"""gunicorn's own log lines: tokens redacted, and JSON when RAPPORT_LOG_FORMAT=json."""

from __future__ import annotations

import datetime
import io
import json

from gunicorn.config import Config

from rapport.core.gunicorn_logging import RedactingLogger

TOKEN = "Zq3xK9vLm2Pw8Rt5Yb7N"


class _Response:
    status = "404 Not Found"
    status_code = 404
    response_length = 0
    headers: list[tuple[str, str]] = []
    sent = 0


def _access_line(monkeypatch, log_format: str) -> str:
    monkeypatch.setenv("RAPPORT_LOG_FORMAT", log_format)
    config = Config()
    config.set("accesslog", "-")
    logger = RedactingLogger(config)
    stream = io.StringIO()
    # gunicorn's own handler (pytest may have added capturing ones beside it).
    (handler,) = [h for h in logger.access_log.handlers if getattr(h, "_gunicorn", False)]
    handler.setStream(stream)  # a StreamHandler: the access log goes to "-"
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": f"/q/{TOKEN}/?q=Marchetti",
        "PATH_INFO": f"/q/{TOKEN}/",
        "QUERY_STRING": "q=Marchetti",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "192.0.2.4",
    }
    logger.access(_Response(), [], environ, datetime.timedelta(milliseconds=5))
    logger.access_log.removeHandler(handler)
    return stream.getvalue().strip()


def test_the_plain_access_line_hides_the_token_and_the_search(monkeypatch):
    line = _access_line(monkeypatch, "plain")
    assert "/q/[token]/" in line and TOKEN not in line and "Marchetti" not in line


def test_the_json_access_line_is_one_object(monkeypatch):
    entry = json.loads(_access_line(monkeypatch, "json"))
    assert entry["logger"] == "gunicorn.access" and entry["level"] == "INFO"
    assert "/q/[token]/" in entry["message"] and TOKEN not in entry["message"]
