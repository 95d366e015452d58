"""Cluster drill: two `rapport serve` and two `rapport worker` on one PostgreSQL, with SIGKILLs.

    .venv/bin/python bench/cluster_drill.py                 # 60 s
    .venv/bin/python bench/cluster_drill.py --duration 20   # quicker

What it does, on loopback only:

1. Creates the database ``rapport_cluster_drill`` (user postgres on 127.0.0.1; ``--pg``
   to change), migrates it, seeds a synthetic clinic and one-session check-in links as
   ``bench/checkin_load.py`` does (its functions, imported), and schedules ``--deliveries``
   sessions an hour from now for clients with an e-mail address, so the workers have
   that many invitations and as many reminders to send at once.
2. Starts two servers (``rapport serve``'s gunicorn command line) on two loopback ports
   and two ``rapport worker`` processes, all on that one database. The workers' e-mail
   goes to :class:`RecordingEmailBackend`, which appends one line per message sent to a
   file, so a message sent twice shows up whoever sent it.
3. For ``--duration`` seconds: check-in clients submit whole check-ins through both servers
   (half the clients on each, a fresh link per submission), and staff readers load a
   therapist's caseload and client pages through both, signed in with MFA. Meanwhile
   server A is SIGKILLed (master and workers) and restarted every ``--kill-every`` seconds,
   and a worker likewise, offset by half that period: the one running the check-in
   delivery job if one is (killed mid-send), else worker B.
4. Stops the workers (SIGTERM), runs ``rapport checkin send-due`` once, as an operator
   would, to send what a killed worker left pending, then checks: every submission
   answered with success is stored exactly once, no message was sent twice, every
   message due went out, no worker job failed, and ``rapport audit verify`` passes.
   Exit status 1 if a check fails.

Errors are reported by kind. A SIGKILLed server refuses connections until it is back
(``ConnectionRefusedError``: nothing was sent, the client retries the same link, and a
proxy would have sent it to the other server) and drops the requests it was serving
(``RemoteDisconnected`` and the like: the client cannot know whether that check-in was
stored; it may be, which is why submissions "stored without acknowledgement" are allowed).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from checkin_load import (
    RAPPORT,
    REPO,
    Result,
    Server,
    analyse,
    bench_env,
    check_rapport_rows,
    drive,
    free_port,
    recreate_database,
    run,
    seed_links,
    summary,
)

MAIL_LOG_VARIABLE = "RAPPORT_DRILL_MAIL_LOG"
LINK_IN_BODY = re.compile(r"/q/([^/\s]+)/")


class RecordingEmailBackend:
    """Django e-mail backend for the drill's workers: one JSON line per message "sent".

    Each line is written with a single ``write`` on a file opened for appending, so the
    lines of several processes never interleave, and a process SIGKILLed after the write
    has still "sent" the message, as it would have with a real mail server.
    """

    def __init__(self, fail_silently: bool = False, **kwargs) -> None:
        self.path = os.environ[MAIL_LOG_VARIABLE]

    def send_messages(self, messages) -> int:
        for message in messages:
            link = LINK_IN_BODY.search(message.body)
            line = json.dumps({"to": message.to, "token": link.group(1) if link else ""})
            descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(descriptor, (line + "\n").encode())
            finally:
                os.close(descriptor)
        return len(messages)


# --- seed -----------------------------------------------------------------------------


def seed_deliveries(count: int) -> int:
    """Schedule a session an hour from now for up to ``count`` clients with an e-mail
    address (one each): its invitation and its reminder are both due at once."""
    from django.db.models import Max
    from django.utils import timezone

    from rapport.clinic.models import ClientIdentity, Episode, Session

    with_email = {
        identity.client_id
        for identity in ClientIdentity.objects.all()
        if identity.email  # encrypted: read in Python, not filtered in SQL
    }
    episodes = [
        episode
        for episode in Episode.objects.filter(status="active").order_by("pk")
        if episode.client_id in with_email
    ]
    chosen: dict[int, Episode] = {}
    for episode in episodes:
        chosen.setdefault(episode.client_id, episode)
        if len(chosen) == count:
            break
    last_numbers = dict(
        Session.objects.filter(episode__in=chosen.values())
        .values_list("episode")
        .annotate(last=Max("number"))
    )
    when = timezone.now() + datetime.timedelta(hours=1)
    Session.objects.bulk_create(
        Session(
            episode=episode,
            number=last_numbers.get(episode.pk, 0) + 1,
            scheduled_at=when,
            status="scheduled",
        )
        for episode in chosen.values()
    )
    return len(chosen)


def staff_session_cookie() -> tuple[str, list[str]]:
    """A signed-in, MFA-verified session of the therapist with the most clients: the
    cookie header, and the paths of that therapist's caseload and client pages."""
    from django.conf import settings
    from django.db.models import Count
    from django.test import Client as TestClient

    from rapport.accounts.models import User
    from rapport.clinic.models import Client
    from rapport.testing import login_verified

    therapist = (
        User.objects.filter(role="therapist")
        .annotate(n=Count("episodes"))
        .order_by("-n", "pk")
        .first()
    )
    if therapist is None:
        raise RuntimeError("the synthetic clinic has no therapist")
    browser = TestClient()
    login_verified(browser, therapist)
    cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
    clients = Client.objects.filter(
        episodes__therapist=therapist, episodes__status="active"
    ).distinct()[:20]
    return cookie, ["/", *(f"/clients/{client.public_id}/" for client in clients)]


# --- processes ------------------------------------------------------------------------


class Worker:
    """`rapport worker` in its own process group, output appended to a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log = env, log
        self.process: subprocess.Popen | None = None
        self.log_start = 0  # where this process's output begins in the log

    def start(self) -> None:
        self.log_start = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(  # noqa: S603 - our own command line
                [*RAPPORT, "worker"],
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                start_new_session=True,
            )

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            self.process = None

    def sending(self) -> bool:
        """This process is running the check-in delivery job (started, not yet done)."""
        with self.log.open("rb") as log:
            log.seek(self.log_start)
            text = log.read().decode(errors="replace")
        started = text.rfind("'rapport.operations.jobs.send_checkin_messages' [")
        return started > max(
            text.rfind("job checkin-delivery done"), text.rfind("job checkin-delivery failed")
        )

    def stop(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None


def restart_server(server: Server) -> None:
    server.kill()
    server.start()


# --- staff reads ----------------------------------------------------------------------


@dataclass
class Reads:
    ok: int = 0
    errors: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)


def read_staff_pages(port: int, cookie: str, paths: list[str], duration: float) -> Reads:
    """Load the therapist's pages one after another on one keep-alive connection."""
    reads = Reads()
    stop_at = time.monotonic() + duration
    connection = None
    index = 0
    while time.monotonic() < stop_at:
        path = paths[index % len(paths)]
        index += 1
        try:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                reads.ok += 1
                reads.latencies.append(time.perf_counter() - started)
            else:
                reads.errors[f"http {response.status}"] += 1
        except (OSError, http.client.HTTPException) as error:
            reads.errors[type(error).__name__] += 1
            if connection is not None:
                connection.close()
            connection = None
            time.sleep(0.05)
    if connection is not None:
        connection.close()
    return reads


# --- checks ---------------------------------------------------------------------------


def check_messages(mail_log: Path) -> bool:
    """Every due message sent, none twice.

    Each e-mail carries a fresh link; a message's row names the link of the send that
    committed. An e-mail whose link is no message's (a worker killed between handing the
    e-mail over and committing rolls the link back with the row) is a message sent twice:
    the row stayed pending and goes out again.
    """
    from django.db import close_old_connections
    from django.utils import timezone

    from rapport.checkin.models import CheckinMessage
    from rapport.checkin.tokens import token_hash

    close_old_connections()
    lines = mail_log.read_text().splitlines() if mail_log.exists() else []
    hashes = [token_hash(json.loads(line)["token"]) for line in lines]
    committed = Counter(
        CheckinMessage.objects.filter(link__token_hash__in=hashes).values_list("pk", flat=True)
    )
    by_status = Counter(CheckinMessage.objects.values_list("status", flat=True))
    due_unsent = CheckinMessage.objects.filter(
        status="pending", next_attempt_at__lte=timezone.now()
    ).count()
    twice = (len(lines) - sum(committed.values())) + sum(n - 1 for n in committed.values())
    print(
        f"messages: {sum(by_status.values())} scheduled ({dict(by_status)}; pending ones not "
        f"due yet); {len(lines)} e-mails sent; due but unsent {due_unsent}; sent twice {twice}"
    )
    return twice == 0 and due_unsent == 0 and len(lines) == by_status.get("sent", 0)


def audit_verifies(env: dict[str, str]) -> bool:
    verify = subprocess.run(  # noqa: S603 - our own command line
        [*RAPPORT, "audit", "verify"], env=env, capture_output=True, text=True, cwd=REPO
    )
    last = (verify.stdout or verify.stderr).strip().splitlines()[-1:]
    print(f"rapport audit verify: exit {verify.returncode}: {last}")
    return verify.returncode == 0


def worker_job_lines(log: Path) -> list[str]:
    """The worker's one line per job run (``job NAME done in ...`` or ``failed after``)."""
    if not log.exists():
        return []
    pattern = re.compile(r"^job (?!heartbeat)\S+ (done|failed) .*$", re.MULTILINE)
    return [match.group(0) for match in pattern.finditer(log.read_text(errors="replace"))]


# --- main -----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="rapport_cluster_drill")
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=8, help="check-in clients, both servers")
    parser.add_argument("--staff-readers", type=int, default=4, help="staff readers, both servers")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--deliveries", type=int, default=150, help="sessions to invite")
    parser.add_argument("--kill-every", type=float, default=20.0)
    options = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="rapport-drill-"))
    mail_log = data_dir / "mail.jsonl"
    env = bench_env(f"{options.pg}/{options.db}", str(data_dir))
    os.environ.update(env)
    sys.path.insert(0, str(REPO))
    print(f"database {options.db}: create, migrate")
    recreate_database(f"{options.pg}/postgres", options.db)
    run(["migrate", "--verbosity", "0"], env)
    links = int(options.duration * 250) + 1000
    clients = max(40, links // 6)
    # About 40 clients a therapist, a real caseload, whatever the number of clients.
    therapists = max(2, clients // 40)
    print(f"database {options.db}: synth {clients} clients, {therapists} therapists")
    synth = ["synth", "--seed", "1", "--clients", str(clients), "--therapists", str(therapists)]
    run([*synth, "--no-progress"], env)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # as `rapport serve` does
    call_command("collectstatic", interactive=False, verbosity=0)
    tokens = seed_links(links)
    deliveries = seed_deliveries(options.deliveries)
    analyse()
    cookie, staff_paths = staff_session_cookie()
    print(
        f"{len(tokens)} links and {deliveries} sessions to invite seeded; "
        f"{options.clients} check-in clients and {options.staff_readers} staff readers over "
        f"2 servers ({options.server_workers} x {options.threads} threads each), 2 workers, "
        f"{options.duration:.0f} s"
    )

    worker_env = env | {
        "RAPPORT_EMAIL_BACKEND": "cluster_drill.RecordingEmailBackend",
        MAIL_LOG_VARIABLE: str(mail_log),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "bench")]),
        "RAPPORT_LOG_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        # Invitations 2 h and reminders 1 h before a session: the drill's sessions (in
        # an hour) get both at once, and few of the synthetic clinic's own sessions
        # fall in the window, so the workers send while servers and workers are killed.
        "RAPPORT_CHECKIN_INVITE_HOURS_BEFORE": "2",
        "RAPPORT_CHECKIN_REMINDER_HOURS_BEFORE": "1",
    }
    servers = [
        Server(
            env, free_port(), bare=False, workers=options.server_workers, threads=options.threads
        )
        for _ in range(2)
    ]
    workers = [Worker(worker_env, data_dir / f"worker-{name}.log") for name in "AB"]
    for process in (*servers, *workers):
        process.start()

    results: dict[str, Result] = {}
    reads: list[Reads] = []
    threads = []
    for index, server in enumerate(servers):
        half = tokens[index::2]

        def load(port=server.port, half=half, name="AB"[index]) -> None:
            results[name] = drive(
                port, half, bare=False, clients=options.clients // 2, duration=options.duration
            )

        threads.append(threading.Thread(target=load))
    for reader in range(options.staff_readers):
        port = servers[reader % 2].port

        def read(port=port) -> None:
            reads.append(read_staff_pages(port, cookie, staff_paths, options.duration))

        threads.append(threading.Thread(target=read))

    print(f"load average before the run: {os.getloadavg()[0]:.1f} (2 cores shared)")
    started = time.monotonic()
    for thread in threads:
        thread.start()
    kills = {"server A": 0, "worker": 0, "worker while sending": 0}
    next_server_kill = options.kill_every
    next_worker_kill = options.kill_every / 2
    restart = threading.Thread(target=lambda: None)
    restart.start()
    while any(thread.is_alive() for thread in threads):
        time.sleep(0.2)
        elapsed = time.monotonic() - started
        if elapsed >= options.duration - 3:
            continue  # no kill in the last seconds: every process is up at the end
        if elapsed >= next_worker_kill:
            # The worker sending check-in messages, if one is: the hardest moment to die.
            victim = next((worker for worker in workers if worker.sending()), workers[1])
            kills["worker while sending"] += victim.sending()
            victim.kill()
            victim.start()
            kills["worker"] += 1
            next_worker_kill += options.kill_every
        if elapsed >= next_server_kill and not restart.is_alive():
            # Restarted beside this loop: a server takes seconds to come back, and the
            # worker's kills keep their times meanwhile.
            restart = threading.Thread(target=restart_server, args=(servers[0],))
            restart.start()
            kills["server A"] += 1
            next_server_kill += options.kill_every
    restart.join()
    for server in servers:
        server.stop()
    for worker in workers:
        worker.stop()
    print(f"SIGKILLed and restarted: {kills}; load average {os.getloadavg()[0]:.1f}")
    failed_jobs = 0
    for name, worker in zip("AB", workers, strict=True):
        for line in worker_job_lines(worker.log):
            print(f"  worker {name}: {line}")
            failed_jobs += line.split()[2] == "failed"

    sent_by_workers = len(mail_log.read_text().splitlines()) if mail_log.exists() else 0
    print(f"e-mails sent by the workers during the run: {sent_by_workers}")
    # What a killed worker left pending goes out at the next run; here, by hand.
    subprocess.run(  # noqa: S603 - our own command line
        [*RAPPORT, "checkin", "send-due"], env=worker_env, check=True, cwd=REPO, capture_output=True
    )

    merged = Result()
    for result in results.values():
        merged.latencies += result.latencies
        merged.ok_tokens += result.ok_tokens
        merged.errors += result.errors
        for kind, n in result.error_kinds.items():
            merged.error_kinds[kind] = merged.error_kinds.get(kind, 0) + n
    merged.elapsed = max(result.elapsed for result in results.values())
    for name in "AB":
        summary(f"server {name}", results[name])
    summary("check-in", merged)
    staff_ok = sum(r.ok for r in reads)
    staff_errors = sum((r.errors for r in reads), Counter())
    staff_latencies = sorted(latency for r in reads for latency in r.latencies)
    median = 1000 * staff_latencies[len(staff_latencies) // 2] if staff_latencies else 0.0
    print(
        f"staff pages: {staff_ok} ok (median {median:.0f} ms), errors "
        f"{sum(staff_errors.values())} {dict(staff_errors) or ''}"
    )
    errors = Counter(merged.error_kinds) + staff_errors
    refused = errors.pop("ConnectionRefusedError", 0)
    answered = len(merged.ok_tokens) + staff_ok
    print(
        f"requests: {answered + sum(errors.values())} sent, {answered} answered; errors "
        f"{sum(errors.values())} {dict(errors) or ''}; "
        f"{refused} connections refused while a server restarted (nothing sent; retried)"
    )
    ok = check_rapport_rows(merged.ok_tokens, exact=False)
    ok = check_messages(mail_log) and ok
    ok = audit_verifies(env) and ok
    print(f"worker jobs failed: {failed_jobs}")
    # The drill means something only if the workers sent while being killed.
    ok = ok and failed_jobs == 0 and sent_by_workers > 0
    ok = ok and kills["server A"] > 0 and kills["worker"] > 0
    print("correctness: PASS" if ok else "correctness: FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
