"""The ``rapport`` console command.

Pure subcommands (``score``, ``stats``) run without Django so that they work on a laptop
with no database. ``demo`` prepares the data folder before Django starts. Everything else
is a Django management command (``rapport migrate``, ``rapport synth``, ``rapport serve``,
``rapport check``, ...).
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from rapport.env import ConfigurationError, env_str
from rapport.security.private_files import write_new_private_file

USAGE = """usage: rapport COMMAND [ARGS...]

Commands:
  demo       install a synthetic demo clinic (once) and serve it
  serve      run the production web server (gunicorn + whitenoise)
  worker     run every scheduled job:       rapport worker [--once]
  status     is this instance ready?        rapport status  (exit 1 when not)
  backup     encrypted backups:             rapport backup create --out FILE | verify | restore
  migrate    create or update the database tables
  synth      generate a synthetic clinic:  rapport synth --seed N --clients N
  score      score one set of answers:     rapport score phq9 --answers 0,1,2,,3 --json
  stats      psychometrics for researchers: rapport stats reliability|correlate|dif FILE.csv
  check      Django system checks (add --deploy for production settings)
  keys       field-encryption keys:         rapport keys generate | rotate | status
  audit      the audit trail:               rapport audit verify | anchor | purge
  client     a client's data rights:        rapport client export|erase RECORD --org SLUG
  checkin    check-in links and delivery:   rapport checkin create RECORD | send-due
  insights   clinic insights:               rapport insights refresh [--org SLUG]
  etr        expected treatment response:   rapport etr fit [--org SLUG] [--instrument ID]
  api        API tokens:                    rapport api token create|list|revoke
  import     historical data:               rapport import csv FILE [--dry-run] | fhir FILE
  export     records and research data:     rapport export fhir RECORD | research --out DIR
  reset_mfa  a staff member lost their authenticator: rapport reset_mfa USERNAME

Any other Django management command also works, e.g. `rapport createsuperuser`.
"""

PURE_COMMANDS = {
    "score": "rapport.instruments.cli",
    "stats": "rapport.psychometrics.cli",
}


def ensure_demo_secret_key() -> None:
    """Create the demo's secret key file once, unless a key comes from the environment."""
    if env_str("RAPPORT_SECRET_KEY"):
        return
    data_dir = Path(env_str("RAPPORT_DATA_DIR", "var")).resolve()
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return
    # The key signs sessions and CSRF tokens.
    write_new_private_file(key_file, secrets.token_urlsafe(50))


def ensure_demo_encryption_keys() -> None:
    """Create the demo's field-encryption and audit key files once (see docs/security.md).

    Skipped for each key that comes from the environment. The files live in the data
    folder beside the database, which is acceptable for synthetic demo data only: a real
    installation keeps keys where database backups do not go.
    """
    from rapport.security.crypto import generate_key

    data_dir = Path(env_str("RAPPORT_DATA_DIR", "var")).resolve()
    for key_env, file_env, default_name in [
        ("RAPPORT_FIELD_KEYS", "RAPPORT_FIELD_KEYS_FILE", "field_keys"),
        ("RAPPORT_AUDIT_KEY", "RAPPORT_AUDIT_KEY_FILE", "audit_key"),
    ]:
        key_file = Path(env_str(file_env) or data_dir / default_name)
        if not env_str(key_env) and not key_file.exists():
            write_new_private_file(key_file, generate_key() + "\n")


def demo_site_url(demo_args: list[str]) -> str:
    """The address the demo's links and QR codes point to: where ``rapport demo`` listens.

    ``--bind HOST:PORT`` (or ``--bind=HOST:PORT``) on the command line, else
    ``RAPPORT_BIND``, else the default; ``RAPPORT_SITE_URL``, when set, is left alone by
    the caller.
    """
    bind = env_str("RAPPORT_BIND", "127.0.0.1:8000")
    for position, arg in enumerate(demo_args):
        if arg == "--bind" and position + 1 < len(demo_args):
            bind = demo_args[position + 1]
        elif arg.startswith("--bind="):
            bind = arg.removeprefix("--bind=")
    return f"http://{bind}"


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(USAGE)
        return 0
    command, rest = args[0], args[1:]
    if command in PURE_COMMANDS:
        from importlib import import_module

        return int(import_module(PURE_COMMANDS[command]).main(rest) or 0)
    if command == "demo":
        os.environ.setdefault("RAPPORT_DEMO", "1")
        # Before the settings load, so the server and its worker (a child process) agree.
        os.environ.setdefault("RAPPORT_SITE_URL", demo_site_url(rest))
        ensure_demo_secret_key()
        ensure_demo_encryption_keys()
    if args[:2] == ["keys", "generate"]:
        # A new key is needed before anything else is configured, Django's secret key too.
        from rapport.security.crypto import generate_key

        print(generate_key())
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["rapport", command, *rest])
    except ConfigurationError as error:
        print(f"rapport: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
