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

USAGE = """usage: rapport COMMAND [ARGS...]

Commands:
  demo       install a synthetic demo clinic (once) and serve it
  serve      run the production web server (gunicorn + whitenoise)
  migrate    create or update the database tables
  synth      generate a synthetic clinic:  rapport synth --seed N --clients N
  score      score one set of answers:     rapport score phq9 --answers 0,1,2,,3 --json
  stats      psychometrics for researchers: rapport stats reliability FILE.csv --json
  check      Django system checks (add --deploy for production settings)

Any other Django management command also works, e.g. `rapport createsuperuser`.
"""

PURE_COMMANDS = {
    "score": "rapport.instruments.cli",
    "stats": "rapport.psychometrics.cli",
}


def ensure_demo_secret_key() -> None:
    """Create the demo's secret key file once, unless a key comes from the environment."""
    if os.environ.get("RAPPORT_SECRET_KEY"):
        return
    data_dir = Path(os.environ.get("RAPPORT_DATA_DIR", "var")).resolve()
    key_file = data_dir / "secret_key"
    if key_file.exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    # Written with owner-only permissions: the key signs sessions and CSRF tokens.
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(50))


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
        ensure_demo_secret_key()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from rapport.env import ConfigurationError

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(["rapport", command, *rest])
    except ConfigurationError as error:
        print(f"rapport: configuration error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
