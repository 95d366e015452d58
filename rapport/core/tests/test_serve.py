import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rapport.security.crypto import generate_key

# `rapport serve` runs with its own SQLite database in a temporary folder.
pytestmark = pytest.mark.database_independent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str, attempts: int = 60) -> tuple[int, dict[str, str], bytes]:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
                return response.status, dict(response.headers), response.read()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer")


@pytest.fixture
def served(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DJANGO_"))}
    env |= {"RAPPORT_DATA_DIR": str(tmp_path / "var"), "RAPPORT_SECRET_KEY": "s" * 50}
    # Field and audit keys: the security checks (rapport.E001/E003) refuse to start without.
    env |= {"RAPPORT_FIELD_KEYS": generate_key(), "RAPPORT_AUDIT_KEY": generate_key()}
    # This server speaks plain HTTP on loopback; production redirects to HTTPS otherwise.
    env["RAPPORT_INSECURE_COOKIES"] = "1"
    subprocess.run(
        [sys.executable, "-m", "rapport.cli", "migrate", "-v", "0"],
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=300,
    )
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rapport.cli",
            "serve",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

    def stop_and_read_output() -> str:
        server.terminate()
        return server.communicate(timeout=30)[0].decode(errors="replace")

    try:
        yield f"http://127.0.0.1:{port}", stop_and_read_output
    finally:
        if server.poll() is None:
            stop_and_read_output()


def test_serve_runs_gunicorn_with_static_files_from_whitenoise(served):
    served, _ = served
    status, _, body = fetch(served + "/accounts/login/")
    assert status == 200
    page = body.decode()
    assert "Sign in" in page
    # Static URLs carry a content hash (manifest storage), served with a long cache life.
    css = page.split('href="')[1].split('"')[0]
    assert (
        css.startswith("/static/rapport/rapport.")
        and css.endswith(".css")
        and css != "/static/rapport/rapport.css"
    )
    status, headers, _ = fetch(served + css)
    assert status == 200
    assert "immutable" in headers.get("Cache-Control", "")


def test_no_response_names_the_server_software(served):
    url, stop_and_read_output = served
    _, page_headers, _ = fetch(url + "/accounts/login/")
    with pytest.raises(urllib.error.HTTPError) as not_found:
        urllib.request.urlopen(f"{url}/no-such-page/", timeout=10)  # noqa: S310 - loopback
    log = stop_and_read_output()
    assert "Booting worker" in log  # gunicorn answered, not a development server
    for headers in (page_headers, dict(not_found.value.headers)):
        assert not {name.lower() for name in headers} & {"server", "x-powered-by"}, headers


def test_the_access_log_never_shows_a_check_in_token(served):
    url, stop_and_read_output = served
    fetch(url + "/accounts/login/")  # waits until the server answers
    token = "SecretCheckinToken_0123456789abcdefghijklmnopq"
    with contextlib.suppress(urllib.error.HTTPError):
        urllib.request.urlopen(f"{url}/q/{token}/", timeout=10)  # noqa: S310 - loopback
    log = stop_and_read_output()
    assert "/q/[token]" in log
    assert token not in log
