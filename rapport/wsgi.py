"""WSGI entry point used by ``rapport serve`` (gunicorn)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from rapport.core.instruments import instruments

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
application = get_wsgi_application()
# Import every view now, while the worker boots and before it accepts connections.
# Django would do it on the first request, and a worker's first requests (all of its
# threads waiting on the same imports: the charts and the API schema take seconds)
# would be the slowest a client ever sees.
get_resolver().url_patterns  # noqa: B018 - evaluated for its side effect
# Likewise the instrument definitions every check-in and caseload page reads.
instruments()
