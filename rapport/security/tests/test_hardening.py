"""Web hardening: headers, cookies, HTTPS settings, `check --deploy`, no inline code."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from rapport.security.middleware import CONTENT_SECURITY_POLICY
from rapport.testing import PASSWORD, login_verified, make_organisation, make_user

RAPPORT_DIR = Path(__file__).resolve().parents[2]
# Fixed test keys (32 bytes, base64): the key checks of `check --deploy` need some.
FIELD_KEY = "dGVzdC1vbmx5LWZpZWxkLWtleS0zMi1ieXRlcy0hISE="
AUDIT_KEY = "dGVzdC1vbmx5LWF1ZGl0LWtleS0zMi1ieXRlcy0hISE="


# --- response headers ----------------------------------------------------------------


@pytest.fixture
def signed_in(client, db):
    login_verified(client, make_user(make_organisation()))
    return client


def test_csp_forbids_inline_code_and_other_origins():
    directives = dict(part.split(" ", 1) for part in CONTENT_SECURITY_POLICY.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY
    assert "http" not in CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("url_name", ["home", "login"])
def test_pages_carry_the_security_headers(signed_in, url_name):
    response = signed_in.get(reverse(url_name))
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "no-store" in response["Cache-Control"]
    assert "camera=()" in response["Permissions-Policy"]


def test_redirects_and_errors_carry_them_too(client, db):
    assert "Content-Security-Policy" in client.get(reverse("home"))
    assert "Content-Security-Policy" in client.get("/no-such-page/")


def test_hsts_is_sent_over_https_for_a_year_with_subdomains(client, db):
    response = client.get(reverse("login"), secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_session_and_csrf_cookies_are_secure_httponly_host_prefixed(client, settings):
    user = make_user(make_organisation())
    client.get(reverse("login"), secure=True)
    response = client.post(
        reverse("login"), {"username": user.username, "password": PASSWORD}, secure=True
    )
    session = response.cookies[settings.SESSION_COOKIE_NAME]
    assert settings.SESSION_COOKIE_NAME.startswith("__Host-")
    assert session["secure"] and session["httponly"]
    assert session["samesite"] == "Lax"
    assert session["path"] == "/" and not session["domain"]
    csrf = client.cookies[settings.CSRF_COOKIE_NAME]
    assert settings.CSRF_COOKIE_NAME.startswith("__Host-")
    assert csrf["secure"] and csrf["httponly"]


# --- production settings, from a fresh process ---------------------------------------


def clean_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "DJANGO_"))}
    env |= {
        "RAPPORT_DATA_DIR": str(tmp_path / "var"),
        "RAPPORT_SECRET_KEY": secrets.token_urlsafe(50),
        "RAPPORT_ALLOWED_HOSTS": "clinic.example",
        "RAPPORT_DEBUG": "0",
        "RAPPORT_FIELD_KEYS": FIELD_KEY,
        "RAPPORT_AUDIT_KEY": AUDIT_KEY,
    }
    if "RAPPORT_DATABASE_URL" in os.environ:
        env["RAPPORT_DATABASE_URL"] = os.environ["RAPPORT_DATABASE_URL"]
    return env | overrides


SETTING_NAMES = [
    "DEBUG",
    "DEMO_MODE",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SESSION_COOKIE_HTTPONLY",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_NAME",
    "PASSWORD_HASHERS",
]


def production_settings(tmp_path: Path, **overrides: str) -> dict:
    code = (
        "import json, rapport.settings as s; "
        f"print(json.dumps({{n: getattr(s, n, None) for n in {SETTING_NAMES!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=clean_env(tmp_path, **overrides),
        cwd=tmp_path,
        check=True,
    )
    return json.loads(result.stdout)


def test_production_is_https_only(tmp_path):
    values = production_settings(tmp_path)
    assert values["DEBUG"] is False and values["DEMO_MODE"] is False
    assert values["SESSION_COOKIE_SECURE"] and values["CSRF_COOKIE_SECURE"]
    assert values["SESSION_COOKIE_HTTPONLY"]
    assert values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert values["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["PASSWORD_HASHERS"][0].endswith("Argon2PasswordHasher")


def test_the_plain_http_demo_drops_only_the_https_settings(tmp_path):
    values = production_settings(tmp_path, RAPPORT_DEMO="1")
    assert values["DEMO_MODE"] is True
    assert not values["SESSION_COOKIE_SECURE"] and not values["CSRF_COOKIE_SECURE"]
    assert not values["SECURE_SSL_REDIRECT"]
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_HTTPONLY"]


def test_a_demo_behind_tls_can_keep_secure_cookies(tmp_path):
    values = production_settings(tmp_path, RAPPORT_DEMO="1", RAPPORT_INSECURE_COOKIES="0")
    assert values["SESSION_COOKIE_SECURE"] and values["SECURE_SSL_REDIRECT"]


def test_behind_a_tls_proxy_the_forwarded_protocol_is_trusted(tmp_path):
    values = production_settings(tmp_path, RAPPORT_BEHIND_TLS_PROXY="1")
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def run_check_deploy(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(tmp_path, **overrides),
        cwd=tmp_path,
        check=False,
    )


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run_check_deploy(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_check_deploy_warns_about_demo_mode(tmp_path):
    result = run_check_deploy(tmp_path, RAPPORT_DEMO="1")
    assert result.returncode != 0
    assert "accounts.W001" in result.stdout + result.stderr


# --- templates: no inline script, style or event handler -----------------------------

TEMPLATES = sorted(RAPPORT_DIR.glob("*/templates/**/*.html"))
INLINE_CODE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "event-handler attribute"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def test_there_are_templates_to_check():
    assert len(TEMPLATES) >= 5


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(RAPPORT_DIR)))
def test_templates_have_no_inline_code(template):
    text = template.read_text(encoding="utf-8")
    found = [what for pattern, what in INLINE_CODE if pattern.search(text)]
    assert not found, f"{template}: {found} (the CSP would block it; use rapport.css)"


# --- private files: data folder, database, keys, anchors -----------------------------


def check_deploy_on_sqlite(tmp_path: Path, **overrides: str) -> subprocess.CompletedProcess:
    env = clean_env(tmp_path, **overrides)
    env.pop("RAPPORT_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "rapport.cli", "check", "--deploy", "--fail-level", "WARNING"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )


@pytest.mark.database_independent  # its own SQLite data folder
def test_a_new_data_folder_and_database_are_owner_only(tmp_path):
    result = check_deploy_on_sqlite(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "var" / "rapport.sqlite3").stat().st_mode & 0o777 == 0o600


def test_demo_key_files_go_into_an_owner_only_folder(tmp_path, monkeypatch):
    from rapport import cli

    monkeypatch.delenv("RAPPORT_SECRET_KEY", raising=False)
    monkeypatch.setenv("RAPPORT_DATA_DIR", str(tmp_path / "var"))
    cli.ensure_demo_secret_key()
    assert (tmp_path / "var").stat().st_mode & 0o777 == 0o700


@pytest.mark.database_independent  # its own SQLite data folder
@pytest.mark.parametrize("loose", ["folder", "database", "anchors"])
def test_check_deploy_fails_when_others_can_read_the_data(tmp_path, loose):
    folder = tmp_path / "var"
    folder.mkdir(mode=0o700)
    folder.chmod(0o700)
    for name in ("rapport.sqlite3", "anchors.jsonl"):
        (folder / name).touch(mode=0o600)
        (folder / name).chmod(0o600)
    target = {"folder": folder, "database": folder / "rapport.sqlite3"}.get(
        loose, folder / "anchors.jsonl"
    )
    target.chmod(0o755 if loose == "folder" else 0o644)
    result = check_deploy_on_sqlite(
        tmp_path, RAPPORT_AUDIT_ANCHOR_FILE=str(folder / "anchors.jsonl")
    )
    assert result.returncode != 0
    assert "rapport.E004" in result.stdout + result.stderr
    assert str(target) in result.stdout + result.stderr


@pytest.mark.django_db
def test_audit_anchors_are_written_owner_only(tmp_path):
    from rapport.security import audit

    audit.record("test.probe")
    path = tmp_path / "anchors" / "audit_anchors.jsonl"
    audit.write_anchor(path)
    assert path.stat().st_mode & 0o777 == 0o600
