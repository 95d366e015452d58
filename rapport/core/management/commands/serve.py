"""rapport serve: the production WSGI server (gunicorn), static files through whitenoise."""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from rapport.env import env_int, env_str
from rapport.security.private_files import make_private_dir


def gunicorn_argv(app: str, *, bind: str, workers: int, threads: int) -> list[str]:
    """The gunicorn command line ``rapport serve`` runs, for the WSGI ``app`` given.

    ``--preload`` imports the application once in the master, before the workers fork:
    they start with every view imported (the charts, statistics and API schema take
    seconds to import), share those pages of memory, and a restarted worker is ready at
    once instead of answering its first requests seconds late.
    """
    return [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "rapport.core.gunicorn_worker.BalancedThreadWorker",
        "--preload",
        "--access-logfile",
        "-",
        "--logger-class",
        "rapport.core.gunicorn_logging.RedactingLogger",
    ]


def prepared_server_argv(*, bind: str, workers: int, threads: int) -> list[str]:
    """Collect the static files, then return the gunicorn command line to run."""
    # The manifest storage needs collected files; collecting is quick and idempotent.
    make_private_dir(settings.DATA_DIR)
    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
    call_command("collectstatic", interactive=False, verbosity=0)
    return gunicorn_argv("rapport.wsgi:application", bind=bind, workers=workers, threads=threads)


def default_bind() -> str:
    return env_str("RAPPORT_BIND", "127.0.0.1:8000")


def default_workers() -> int:
    return env_int("RAPPORT_WORKERS", 2, minimum=1)


class Command(BaseCommand):
    help = "Serve Rapport with gunicorn (not Django's development server)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=default_bind(), help="host:port")
        parser.add_argument("--workers", type=int, default=default_workers())
        parser.add_argument("--threads", type=int, default=4)

    def handle(self, *args, **options):
        argv = prepared_server_argv(
            bind=options["bind"], workers=options["workers"], threads=options["threads"]
        )
        self.stdout.write(f"Serving Rapport at http://{options['bind']}/ (Ctrl+C stops)")
        sys.stdout.flush()
        os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn
