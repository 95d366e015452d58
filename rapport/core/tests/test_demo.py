import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# `rapport demo` runs with its own SQLite database in a temporary folder.
pytestmark = pytest.mark.database_independent


def test_demo_seeds_once_and_prints_the_logins(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DJANGO_"))}
    env["RAPPORT_DATA_DIR"] = str(tmp_path / "var")
    command = [sys.executable, "-m", "rapport.cli", "demo", "--no-serve", "--clients", "12"]
    first = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert first.returncode == 0, first.stderr
    assert "Seeding the synthetic demo clinic" in first.stdout
    assert "therapist1" in first.stdout and "rapport-demo" in first.stdout
    assert "Check-ins open:" in first.stdout
    assert "Expected treatment response" in first.stdout
    assert (tmp_path / "var" / "rapport.sqlite3").exists()
    assert (tmp_path / "var" / "secret_key").exists()
    assert "PDF reports cannot print" not in first.stdout  # the fonts are installed

    # On a machine without the font packages the demo still runs, and says what is missing.
    env["RAPPORT_REPORT_FONT_DIRS"] = str(tmp_path / "no-fonts")
    second = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "already seeded" in second.stdout
    warning = "apt-get install fonts-noto-core fonts-noto-cjk fonts-dejavu-core"
    assert f"PDF reports cannot print every script: install the fonts with '{warning}'" in (
        second.stdout
    )


def _status(url: str) -> int:
    """The status of ``url`` once the server answers (it may still be starting)."""
    for _ in range(60):
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer")


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_demo_runs_the_worker_beside_the_server_and_stops_both(tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DJANGO_"))}
    env["RAPPORT_DATA_DIR"] = str(tmp_path / "var")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "demo.log"
    command = [sys.executable, "-m", "rapport.cli", "demo", "--clients", "12"]
    command += ["--bind", f"127.0.0.1:{port}"]
    with log.open("wb") as output:
        demo = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=output, stderr=output)
    try:
        deadline = time.monotonic() + 240
        while "job checkin-delivery done" not in log.read_text(errors="replace"):
            assert demo.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(1)
        assert _status(f"http://127.0.0.1:{port}/readyz") == 200
        children = _children(demo.pid)
        assert len(children) == 2  # the server and the worker
    finally:
        demo.send_signal(signal.SIGTERM)
        demo.wait(timeout=60)
    assert not [child for child in children if _alive(child)]
