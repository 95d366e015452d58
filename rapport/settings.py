"""Django settings for Rapport, read from RAPPORT_* environment variables.

Every variable is documented in the README's configuration table. Nothing secret has a
default: the secret key comes from the environment or from the key file that
``rapport demo`` writes on first run.
"""

from __future__ import annotations

from pathlib import Path

import dj_database_url

from rapport.env import ConfigurationError, env_bool, env_int, env_list, env_networks, env_str
from rapport.instruments.registry import parse_reliable_change
from rapport.security.private_files import ensure_private_file

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("RAPPORT_DATA_DIR", "var")).resolve()
SECRET_KEY_FILE = DATA_DIR / "secret_key"
SQLITE_FILE = DATA_DIR / "rapport.sqlite3"

DEBUG = env_bool("RAPPORT_DEBUG", False)
DEMO_MODE = env_bool("RAPPORT_DEMO", False)


def _secret_key() -> str:
    from_env = env_str("RAPPORT_SECRET_KEY")
    if from_env:
        return from_env
    if SECRET_KEY_FILE.exists():
        return SECRET_KEY_FILE.read_text(encoding="utf-8").strip()
    raise ConfigurationError(
        "RAPPORT_SECRET_KEY is not set and no key file exists at "
        f"{SECRET_KEY_FILE}; set the variable, or run `rapport demo` once to create the file."
    )


SECRET_KEY = _secret_key()

# Field-encryption and audit keys are read from the environment (RAPPORT_FIELD_KEYS,
# RAPPORT_AUDIT_KEY) or from these files when they are needed, never from the database;
# see rapport/security/crypto.py and docs/security.md.
FIELD_KEYS_FILE = Path(env_str("RAPPORT_FIELD_KEYS_FILE") or DATA_DIR / "field_keys")
AUDIT_KEY_FILE = Path(env_str("RAPPORT_AUDIT_KEY_FILE") or DATA_DIR / "audit_key")
# Anchor lines (chain end + MAC) written by `rapport audit anchor`; put this on storage the
# database host cannot rewrite.
AUDIT_ANCHOR_FILE = Path(env_str("RAPPORT_AUDIT_ANCHOR_FILE") or DATA_DIR / "audit_anchors.jsonl")
AUDIT_RETENTION_DAYS = env_int("RAPPORT_AUDIT_RETENTION_DAYS", 2192, minimum=1)
ALLOWED_HOSTS = env_list("RAPPORT_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "rapport.core",
    "rapport.accounts",
    "rapport.clinic",
    "rapport.workspace",
    "rapport.security",
    "rapport.api",
    "rapport.interop",
    "rapport.insights",
    "rapport.checkin",
    "rapport.safety_plans",
    "django_q",
    "rapport.operations",
]

# Order matters: see rapport/security/middleware.py. The staff gate is default-deny: every
# view needs sign-in + MFA unless marked @public or @before_mfa (rapport.security.access).
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # After whitenoise: static files are not views, and would drown the latency by view.
    "rapport.operations.metrics.RequestMetricsMiddleware",
    "rapport.operations.logs.RequestIdMiddleware",
    "rapport.security.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "rapport.accounts.languages.StaffLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "rapport.security.middleware.SessionTimeoutMiddleware",
    "rapport.security.middleware.StaffGateMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rapport.urls"
WSGI_APPLICATION = "rapport.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "rapport.core.context_processors.rapport",
            ],
        },
    },
]


def _databases() -> dict:
    url = env_str("RAPPORT_DATABASE_URL")
    if not url:
        # The embedded default: an SQLite file in the data folder, created owner-only
        # here so that SQLite (and its -wal and -shm files) never start out readable.
        ensure_private_file(SQLITE_FILE)
        url = f"sqlite:///{SQLITE_FILE}"
    try:
        config = dj_database_url.parse(url, conn_max_age=env_int("RAPPORT_DB_CONN_MAX_AGE", 60))
    except ValueError as error:
        message = f"RAPPORT_DATABASE_URL is not a usable database URL: {error}"
        raise ConfigurationError(message) from None
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL lets readers work while one writer commits; FULL makes every commit durable
        # across power loss; IMMEDIATE takes the write lock up front so concurrent writers
        # queue on busy_timeout instead of failing with "database is locked" mid-transaction.
        config["OPTIONS"] = {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        }
        config["CONN_MAX_AGE"] = 0
    else:
        # With prepared statements on, rapport.core.hotpath prepares its statements;
        # Django's own (client-side binding) cursors never prepare, so nothing else
        # changes. Off (None), psycopg prepares nothing on any cursor.
        options = config.setdefault("OPTIONS", {})
        options["prepare_threshold"] = 5 if DB_PREPARED_STATEMENTS else None
        if DATABASE_POOLER == "pgbouncer":
            # A named (server-side) cursor lives on one server connection across
            # transactions, which a pooler in transaction mode does not give; Django then
            # reads .iterator() querysets in chunks with client-side fetching instead.
            config["DISABLE_SERVER_SIDE_CURSORS"] = True
    return {"default": config}


# Behind PgBouncer in transaction mode each transaction may run on another server
# connection, so nothing may outlive a transaction on it: no prepared statements (unless
# RAPPORT_DB_PREPARED_STATEMENTS=1 says the pooler tracks them, PgBouncer 1.21+ with
# max_prepared_statements) and no server-side cursors (docs/operations.md, "Scale out").
DATABASE_POOLERS = ("", "pgbouncer")
DATABASE_POOLER = env_str("RAPPORT_DATABASE_POOLER", "").strip().lower()
if DATABASE_POOLER not in DATABASE_POOLERS:
    raise ConfigurationError(
        f"RAPPORT_DATABASE_POOLER={DATABASE_POOLER!r} is not known; leave it unset, or "
        "use 'pgbouncer' for PgBouncer in transaction mode"
    )
DB_PREPARED_STATEMENTS = env_bool("RAPPORT_DB_PREPARED_STATEMENTS", not DATABASE_POOLER)


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    # Stronger than the common-password list above: repeats, sequences, key rows, and an
    # offline list of leaked passwords with their usual variants (accounts/password_rules.py).
    {"NAME": "rapport.accounts.password_rules.RepetitionAndSequenceValidator"},
    {"NAME": "rapport.accounts.password_rules.GuessablePasswordValidator"},
]
# Staff may ask for a password reset link by e-mail ("Forgot your password?"); off for an
# installation without working e-mail, where the clinic admin sets a temporary password.
PASSWORD_RESET_BY_EMAIL = env_bool("RAPPORT_PASSWORD_RESET_EMAIL", True)
# A reset link works for two hours, and only until the password changes.
PASSWORD_RESET_TIMEOUT = 2 * 60 * 60
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
# Spanish numbers with a decimal point, as every other number Rapport writes
# (rapport/core/formats/es/formats.py).
FORMAT_MODULE_PATH = ["rapport.core.formats"]
TIME_ZONE = env_str("RAPPORT_TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Lets whitenoise serve straight from the app folders when collectstatic has not run (tests).
WHITENOISE_USE_FINDERS = True

# --- Sessions, cookies and HTTPS (docs/security.md, "Sessions" and "Web hardening") ---
# Production serves HTTPS only. The demo (RAPPORT_DEMO=1, set by `rapport demo`) serves plain
# http://127.0.0.1:8000, so it defaults RAPPORT_INSECURE_COOKIES to on, which drops the
# Secure cookie flag, the HTTPS redirect and HSTS, and nothing else.
INSECURE_COOKIES = env_bool("RAPPORT_INSECURE_COOKIES", DEMO_MODE)
HTTPS_ONLY = not (DEBUG or INSECURE_COOKIES)
# Behind a TLS-terminating proxy that sets X-Forwarded-Proto (and X-Forwarded-For).
BEHIND_TLS_PROXY = env_bool("RAPPORT_BEHIND_TLS_PROXY", False)
# Further proxies of the clinic's own (a load balancer in front of the TLS proxy), as
# networks; their X-Forwarded-For entries are skipped (rapport.security.network.client_ip).
TRUSTED_PROXY_NETWORKS = env_networks("RAPPORT_TRUSTED_PROXIES", [])
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS_ONLY
SECURE_HSTS_SECONDS = 31536000 if HTTPS_ONLY else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS_ONLY
# Preloading commits the whole domain to HTTPS in browsers for months and cannot be undone
# quickly, so it is the clinic's choice (RAPPORT_HSTS_PRELOAD=1); security.W021 only says
# that preload is off.
SECURE_HSTS_PRELOAD = env_bool("RAPPORT_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Server-side, so logout really ends a session; rows are keyed by a hash of the cookie's
# key, so a copy of the database yields no live session (rapport.security.sessions).
SESSION_ENGINE = "rapport.security.sessions"
SESSION_COOKIE_SECURE = HTTPS_ONLY
CSRF_COOKIE_SECURE = HTTPS_ONLY
# __Host- cookies are only accepted over HTTPS, for this host and path "/".
SESSION_COOKIE_NAME = "__Host-rapport_session" if HTTPS_ONLY else "rapport_session"
CSRF_COOKIE_NAME = "__Host-rapport_csrf" if HTTPS_ONLY else "rapport_csrf"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# The idle (15 min) and absolute (12 h) limits are enforced server-side by
# rapport.security.middleware.SessionTimeoutMiddleware; the cookie itself dies with the
# browser and never outlives the absolute limit.
SESSION_COOKIE_AGE = 12 * 60 * 60
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

OTP_TOTP_ISSUER = "Rapport"

# --- Client check-ins (docs/checkin.md) ---
# Links in e-mails and text messages are built from this address, never from the request's
# Host header.
SITE_URL = (env_str("RAPPORT_SITE_URL") or "http://127.0.0.1:8000").rstrip("/")
CHECKIN_LINK_HOURS = env_int("RAPPORT_CHECKIN_LINK_HOURS", 72, minimum=1)
CHECKIN_KIOSK_MINUTES = env_int("RAPPORT_CHECKIN_KIOSK_MINUTES", 60, minimum=5)
# A kiosk check-in left this long without an answer ends: the draft is discarded, the
# link closed and the tablet shows its locked screen (an abandoned tablet in a waiting room).
CHECKIN_KIOSK_IDLE_MINUTES = env_int("RAPPORT_CHECKIN_KIOSK_IDLE_MINUTES", 10, minimum=1)
CHECKIN_INVITE_HOURS_BEFORE = env_int("RAPPORT_CHECKIN_INVITE_HOURS_BEFORE", 24, minimum=0)
CHECKIN_REMINDER_HOURS_BEFORE = env_int("RAPPORT_CHECKIN_REMINDER_HOURS_BEFORE", 2, minimum=0)
# Requests per minute to check-in pages, counted in the database across all workers.
CHECKIN_RATE_PER_IP = env_int("RAPPORT_CHECKIN_RATE_PER_IP", 300, minimum=1)
CHECKIN_RATE_PER_TOKEN = env_int("RAPPORT_CHECKIN_RATE_PER_TOKEN", 90, minimum=1)
# Dotted path of the text-message sender (rapport.checkin.delivery.SmsSender).
CHECKIN_SMS_SENDER = env_str("RAPPORT_SMS_SENDER", "rapport.checkin.delivery.ConsoleSmsSender")

EMAIL_BACKEND = env_str(
    "RAPPORT_EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEMO_MODE or DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env_str("RAPPORT_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("RAPPORT_EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("RAPPORT_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = env_str("RAPPORT_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("RAPPORT_EMAIL_TLS", True)
EMAIL_TIMEOUT = 20
DEFAULT_FROM_EMAIL = env_str("RAPPORT_EMAIL_FROM", "rapport@localhost")

# --- REST API (docs/api.md) ---
# Requests per API token per minute, counted in the database across all workers.
API_RATE_LIMIT = env_int("RAPPORT_API_RATE_LIMIT", 120, minimum=1)
# Requests without a valid token per client address per minute; beyond it, 429.
API_ANONYMOUS_RATE_LIMIT = env_int("RAPPORT_API_ANONYMOUS_RATE_LIMIT", 30, minimum=1)

# --- PDF progress report (docs/workspace.md) ---
# Paper size, A4 or Letter; where the report's fonts (Debian's font packages) are found.
REPORT_PAPER = env_str("RAPPORT_REPORT_PAPER", "A4")
if REPORT_PAPER not in ("A4", "Letter"):
    raise ConfigurationError(f"RAPPORT_REPORT_PAPER must be A4 or Letter, not {REPORT_PAPER!r}")
REPORT_FONT_DIRS = env_list(
    "RAPPORT_REPORT_FONT_DIRS", ["/usr/share/fonts", "/usr/local/share/fonts"]
)

# Clinic-supplied (licensed) instrument definitions are loaded from this folder.
INSTRUMENTS_DIR = env_str("RAPPORT_INSTRUMENTS_DIR")
# The clinic's own reliable-change thresholds, replacing shipped placeholders
# ("rapport_trust=0.7,rapport_alliance=5"; docs/instruments.md).
try:
    RELIABLE_CHANGE = parse_reliable_change(env_str("RAPPORT_RELIABLE_CHANGE") or "")
except ValueError as error:
    raise ConfigurationError(f"RAPPORT_RELIABLE_CHANGE: {error}") from None
# `rapport import fhir` refuses larger files before reading them (docs/fhir.md).
FHIR_IMPORT_MAX_BYTES = env_int("RAPPORT_FHIR_IMPORT_MAX_BYTES", 20 * 1024 * 1024, minimum=1)

# --- Therapist workspace (docs/workspace.md) ---
# A clinic's own caseload flag thresholds (same shape as rapport/alerts/defaults.yaml);
# empty means the shipped defaults. Read and checked once per process.
FLAG_RULES_FILE = env_str("RAPPORT_FLAG_RULES_FILE")

# --- The worker (docs/operations.md) ---
# `rapport worker` runs the jobs of rapport.operations.jobs on django-q2. Its queue and
# schedules live in the Rapport database (the "orm" broker): nothing else to install on
# SQLite, and every server of a PostgreSQL installation shares them.
WORKER_PROCESSES = env_int("RAPPORT_WORKER_PROCESSES", 2, minimum=1)
# The longest a job may run (insight refresh of a large clinic); a job is handed to another
# worker only after WORKER_RETRY_SECONDS, so it must be longer than the timeout.
WORKER_JOB_TIMEOUT_SECONDS = env_int("RAPPORT_WORKER_JOB_TIMEOUT_SECONDS", 1800, minimum=10)
# /readyz and `rapport status` call the worker stale after this many minutes without a beat.
WORKER_HEARTBEAT_MAX_AGE_MINUTES = env_int("RAPPORT_WORKER_HEARTBEAT_MAX_AGE_MINUTES", 5, minimum=1)
# When set, /readyz and `rapport status` fail once the last `rapport backup create` is older.
BACKUP_MAX_AGE_HOURS = env_int("RAPPORT_BACKUP_MAX_AGE_HOURS", 0, minimum=0)
Q_CLUSTER = {
    "name": "rapport",
    "orm": "default",
    "workers": WORKER_PROCESSES,
    "timeout": WORKER_JOB_TIMEOUT_SECONDS,
    "retry": WORKER_JOB_TIMEOUT_SECONDS + 300,
    # A failed job is not retried by the queue: its schedule runs it again at the next
    # due time, so one failure never becomes a burst of duplicate sends.
    "max_attempts": 1,
    "ack_failures": True,
    # After a stopped worker comes back, each schedule runs once, not once per missed slot.
    "catch_up": False,
    "poll": 1,
    "save_limit": 500,
    "label": "Worker",
}

# --- Monitoring (docs/operations.md, "Monitor") ---
# /metrics is 404 unless one of these is set: a bearer token for the scraper, or the
# networks (CIDR) it scrapes from, matched against the real client address.
METRICS_TOKEN = env_str("RAPPORT_METRICS_TOKEN", "")
if METRICS_TOKEN and len(METRICS_TOKEN) < 24:
    raise ConfigurationError("RAPPORT_METRICS_TOKEN must be at least 24 characters long")
METRICS_ALLOWED_NETWORKS = env_networks("RAPPORT_METRICS_ALLOWED_NETWORKS", [])
# prometheus_client reads this itself (multiprocess mode); a missing folder would only
# show at the first request, so it is checked here.
_METRICS_FOLDER = env_str("PROMETHEUS_MULTIPROC_DIR")
if _METRICS_FOLDER and not Path(_METRICS_FOLDER).is_dir():
    raise ConfigurationError(f"PROMETHEUS_MULTIPROC_DIR={_METRICS_FOLDER!r} is not a folder")
# "plain" (the message alone) or "json" (one object per line: time, level, logger,
# message, request id).
LOG_FORMAT = env_str("RAPPORT_LOG_FORMAT", "plain")
if LOG_FORMAT not in ("plain", "json"):
    raise ConfigurationError(f"RAPPORT_LOG_FORMAT={LOG_FORMAT!r} must be plain or json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Check-in paths hold a link token (a capability): never let it reach the logs.
    "filters": {
        "redact_checkin_tokens": {"()": "rapport.checkin.log_redaction.RedactCheckinTokens"},
        # An ordinary 403/404 is one line, not a traceback (server errors keep theirs).
        "one_line_client_errors": {"()": "rapport.core.log_filters.OneLineClientErrors"},
    },
    "formatters": {"json": {"()": "rapport.operations.logs.JsonFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact_checkin_tokens"],
            **({"formatter": "json"} if LOG_FORMAT == "json" else {}),
        }
    },
    "root": {"handlers": ["console"], "level": env_str("RAPPORT_LOG_LEVEL", "INFO")},
    "loggers": {
        # fontTools narrates every font subset at INFO (each PDF report embeds one).
        "fontTools": {"level": "WARNING"},
        # Django's own default sends django.* records to a second, unfiltered handler
        # when RAPPORT_DEBUG is on; here they go through the redacting console only. INFO
        # whatever RAPPORT_LOG_LEVEL says: at DEBUG, Django logs every SQL statement with
        # its values (answers, identities).
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "django.request": {"filters": ["one_line_client_errors"]},
    },
}
