"""gunicorn's threaded worker, taking new connections only when it has a thread free.

Every worker process of ``rapport serve`` listens on the same socket. gunicorn's own
threaded worker accepts whatever arrives and queues it for its thread pool, so after a
burst of new connections one worker often holds most of them for as long as they are
kept alive, while the other worker's threads sit idle: its clients wait on a single core
and the other core goes unused. With 50 phones on keep-alive connections, splits of 46
to 4 were usual (bench/checkin_load.py, BENCHMARKS.md).

:class:`BalancedThreadWorker` leaves a new connection in the kernel's queue while all its
threads are busy, so the worker with a thread free takes it. A busy worker still takes
waiting connections after :data:`ACCEPT_GRACE_SECONDS`, so when every worker is busy for
a long time new clients wait at most that long longer than before, never for ever.
"""

from __future__ import annotations

import time

from gunicorn.workers.gthread import ThreadWorker

from rapport.core import gunicorn_response

# How long a worker whose threads are all busy leaves new connections to the others.
ACCEPT_GRACE_SECONDS = 0.05


class BalancedThreadWorker(ThreadWorker):
    """:class:`gunicorn.workers.gthread.ThreadWorker` that accepts only with room (above)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Requests handed to the thread pool and not finished (running or queued). Only
        # the worker's main thread (its event loop) reads and changes it.
        self.in_flight = 0
        self._busy_since: float | None = None

    def init_process(self) -> None:
        # Before the worker's loop starts: no response of this worker names the server.
        gunicorn_response.install()
        super().init_process()

    def has_room(self) -> bool:
        """A thread is free, or every thread has been busy for the grace period."""
        if self.in_flight < self.cfg.threads:
            self._busy_since = None
            return True
        now = time.monotonic()
        if self._busy_since is None:
            self._busy_since = now
        return now - self._busy_since >= ACCEPT_GRACE_SECONDS

    def set_accept_enabled(self, enabled: bool) -> None:
        # gunicorn's loop asks to accept whenever it is under worker_connections; the
        # thread pool's room is the second condition.
        super().set_accept_enabled(enabled and self.has_room())

    def accept(self, listener) -> None:
        super().accept(listener)
        if self.in_flight > self.cfg.threads:
            # Taken after the grace period: the next one waits for a thread or a new
            # grace period, so a busy worker takes one connection at a time.
            self._busy_since = time.monotonic()

    def enqueue_req(self, conn) -> None:
        self.in_flight += 1
        super().enqueue_req(conn)
        if self._accepting and not self.has_room():
            super().set_accept_enabled(False)

    def finish_request(self, conn, fs) -> None:
        self.in_flight -= 1
        super().finish_request(conn, fs)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        # While new connections are left to the others, look again when the grace ends
        # even if nothing else happens (gunicorn's loop would wait up to a second).
        if self._busy_since is not None and not self._accepting:
            timeout = min(timeout, ACCEPT_GRACE_SECONDS)
        super().wait_for_and_dispatch_events(timeout)
