"""gunicorn's HTTP/1 response without the ``Server: gunicorn`` line.

gunicorn writes ``Server: gunicorn`` into every response itself, ahead of the
application's headers, and has no setting to leave it out: its maintainers declined one
(benoitc/gunicorn#825, #1617) and the old trick of assigning ``gunicorn.SERVER`` in a
config file only empties the value. Naming the server software tells a scanner which
exploits to try and helps nobody else, so Rapport's workers build their responses with
:class:`ResponseWithoutServerHeader` (installed by
:class:`rapport.core.gunicorn_worker.BalancedThreadWorker`).
"""

from __future__ import annotations

from gunicorn.http import wsgi


class ResponseWithoutServerHeader(wsgi.Response):
    """:class:`gunicorn.http.wsgi.Response` minus the ``Server`` header it always adds."""

    def default_headers(self) -> list[str]:
        return [
            line for line in super().default_headers() if not line.lower().startswith("server:")
        ]


def install() -> None:
    """Make gunicorn build HTTP/1 responses without ``Server`` in this process.

    ``gunicorn.http.wsgi.create`` looks its default response class up in its module at
    every request, so replacing it there is enough; HTTP/2 (not enabled by ``rapport
    serve``) has its own response class and is unaffected.
    """
    wsgi.Response = ResponseWithoutServerHeader
