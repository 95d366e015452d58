import os
import subprocess
import sys
from pathlib import Path

from rapport import cli


def run_rapport(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DJANGO_"))}
    env["RAPPORT_DATA_DIR"] = str(tmp_path / "var")
    return env


def test_help_lists_the_commands(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("demo", "serve", "migrate", "synth", "score", "check"):
        assert command in out


def test_missing_secret_key_is_a_clear_configuration_error(tmp_path):
    result = run_rapport("check", env=clean_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "RAPPORT_SECRET_KEY is not set" in result.stderr


def test_bad_boolean_setting_names_the_variable(tmp_path):
    env = clean_env(tmp_path) | {"RAPPORT_SECRET_KEY": "k" * 50, "RAPPORT_DEBUG": "maybe"}
    result = run_rapport("check", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "RAPPORT_DEBUG='maybe' is not a boolean" in result.stderr


def test_demo_key_file_is_created_once_with_owner_only_permissions(tmp_path, monkeypatch):
    monkeypatch.delenv("RAPPORT_SECRET_KEY", raising=False)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "var"))
    cli.ensure_demo_secret_key()
    key_file = tmp_path / "var" / "secret_key"
    first = key_file.read_text()
    assert len(first) >= 50
    assert key_file.stat().st_mode & 0o777 == 0o600
    cli.ensure_demo_secret_key()
    assert key_file.read_text() == first


def test_check_passes_on_a_fresh_sqlite_database(tmp_path):
    from rapport.security.crypto import generate_key

    # Without field and audit keys the security checks (rapport.E001/E003) fail on purpose.
    keys = {"RAPPORT_FIELD_KEYS": generate_key(), "RAPPORT_AUDIT_KEY": generate_key()}
    env = clean_env(tmp_path) | {"RAPPORT_SECRET_KEY": "k" * 50} | keys
    result = run_rapport("check", env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_every_command_the_help_lists_exists():
    import django
    from django.core.management import get_commands

    django.setup()
    listed = [
        line.split()[0]
        for line in cli.USAGE.split("Commands:")[1].split("Any other")[0].splitlines()
        if line.strip()
    ]
    assert len(listed) >= 15
    known = set(get_commands()) | set(cli.PURE_COMMANDS) | {"demo"}
    assert [command for command in listed if command not in known] == []


def test_a_bad_worker_count_names_the_variable(tmp_path):
    env = clean_env(tmp_path) | {"RAPPORT_SECRET_KEY": "k" * 50, "RAPPORT_WORKERS": "abc"}
    result = run_rapport("serve", "--help", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "RAPPORT_WORKERS='abc' is not a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_keys_generate_works_before_any_secret_key_exists(tmp_path):
    result = run_rapport("keys", "generate", env=clean_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from rapport.security.crypto import parse_key

    parse_key(result.stdout.strip(), source="rapport keys generate")
    assert not (tmp_path / "var").exists()


def test_the_demos_links_point_where_the_demo_listens(monkeypatch):
    from rapport.cli import demo_site_url

    monkeypatch.delenv("RAPPORT_BIND", raising=False)
    assert demo_site_url([]) == "http://127.0.0.1:8000"
    monkeypatch.setenv("RAPPORT_BIND", "127.0.0.1:8765")
    assert demo_site_url([]) == "http://127.0.0.1:8765"
    assert demo_site_url(["--bind", "0.0.0.0:9000"]) == "http://0.0.0.0:9000"
    assert demo_site_url(["--bind=localhost:9001"]) == "http://localhost:9001"
