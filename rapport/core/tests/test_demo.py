import os
import subprocess
import sys
from pathlib import Path


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
    assert "Check-in messages queued for the next day's sessions" in first.stdout
    assert (tmp_path / "var" / "rapport.sqlite3").exists()
    assert (tmp_path / "var" / "secret_key").exists()

    second = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert second.returncode == 0, second.stderr
    assert "already seeded" in second.stdout
