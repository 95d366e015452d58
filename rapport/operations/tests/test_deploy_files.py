"""The deployable files under deploy/ parse, and start commands Rapport really has.

A unit whose ExecStart names a command or an option that `rapport` does not have fails
only on the clinic's server, at boot; an nginx file with a typo fails at `nginx -t`. These
tests catch both here.
"""

from __future__ import annotations

import configparser
import re
import shlex
from pathlib import Path

import crossplane  # type: ignore[import-untyped]  # ships no types
import pytest
from django.core.management import CommandError, get_commands, load_command_class

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
RAPPORT = "/opt/rapport/venv/bin/rapport"


def read_unit(name: str) -> configparser.ConfigParser:
    # strict: a key given twice in a section is an error, as it is a mistake in these units.
    unit = configparser.ConfigParser(interpolation=None, strict=True)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are CamelCase
    unit.read_string((DEPLOY / "systemd" / name).read_text(encoding="utf-8"))
    return unit


def exec_start_argv(unit: configparser.ConfigParser, instance: str) -> list[str]:
    """ExecStart as systemd would run it: %i is the instance, ${NAME} from Environment=."""
    defaults = dict(
        line.split("=", 1) for line in shlex.split(unit["Service"].get("Environment", ""))
    )
    command = unit["Service"]["ExecStart"].replace("%i", instance)
    command = re.sub(r"\$\{(\w+)\}", lambda match: defaults[match.group(1)], command)
    return shlex.split(command)


def parse_rapport_command(argv: list[str]):
    """Parse ``argv`` with the options of the `rapport` command it names (CommandError
    for an option the command does not have)."""
    assert argv[0] == RAPPORT
    command = argv[1]
    commands = get_commands()
    assert command in commands, f"`rapport {command}` does not exist"
    parser = load_command_class(commands[command], command).create_parser("rapport", command)
    return parser.parse_args(argv[2:])


@pytest.mark.parametrize(
    ("unit_name", "instance", "command"),
    [("rapport-web@.service", "8000", "serve"), ("rapport-worker.service", "", "worker")],
)
def test_systemd_units_start_a_rapport_command_that_exists(unit_name, instance, command):
    unit = read_unit(unit_name)

    assert set(unit.sections()) == {"Unit", "Service", "Install"}
    service = unit["Service"]
    for key in ("User", "EnvironmentFile", "ExecStart", "Restart", "KillSignal"):
        assert service.get(key), f"{unit_name}: [Service] {key} is missing"
    assert service["EnvironmentFile"] == "/etc/rapport/env"
    # SIGTERM is the graceful stop of gunicorn and of the worker: requests and jobs in
    # flight finish (the upgrade's drain relies on it).
    assert service["KillSignal"] == "SIGTERM"
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    argv = exec_start_argv(unit, instance)
    assert argv[1] == command
    options = parse_rapport_command(argv)
    if command == "serve":
        assert options.bind == "127.0.0.1:8000"
    else:
        assert options.once is False  # the long-running worker, not the cron form


def test_a_unit_naming_a_missing_option_is_caught():
    with pytest.raises(CommandError, match="unrecognized arguments: --port"):
        parse_rapport_command([RAPPORT, "serve", "--port", "8000"])


def parsed_nginx(tmp_path: Path) -> list[dict]:
    """deploy/nginx/rapport.conf included in the http context of a minimal nginx.conf,
    parsed by crossplane with nginx's directive and context rules."""
    main = tmp_path / "nginx.conf"
    main.write_text(f"events {{}}\nhttp {{\n    include {DEPLOY / 'nginx' / 'rapport.conf'};\n}}\n")
    payload = crossplane.parse(str(main), catch_errors=False, check_ctx=True, check_args=True)
    assert payload["status"] == "ok", payload["errors"]
    (included,) = (c for c in payload["config"] if c["file"].endswith("rapport.conf"))
    return included["parsed"]


def blocks(directives: list[dict], name: str) -> list[dict]:
    return [directive for directive in directives if directive["directive"] == name]


def values(block: dict, name: str) -> list[list[str]]:
    return [directive["args"] for directive in blocks(block["block"], name)]


def test_the_nginx_proxy_config_parses_and_sends_everything_to_the_app_servers(tmp_path):
    parsed = parsed_nginx(tmp_path)

    (upstream,) = blocks(parsed, "upstream")
    assert len(values(upstream, "server")) >= 2  # several app servers
    servers = blocks(parsed, "server")
    plain = [s for s in servers if ["80"] in values(s, "listen")]
    tls = [s for s in servers if any(args[:2] == ["443", "ssl"] for args in values(s, "listen"))]
    assert len(plain) == len(tls) == 1
    assert values(plain[0], "return") == [["301", "https://$host$request_uri"]]
    assert values(tls[0], "ssl_certificate") and values(tls[0], "ssl_certificate_key")
    locations = {tuple(block["args"]): block for block in blocks(tls[0]["block"], "location")}
    assert set(locations) == {("/",), ("=", "/metrics")}
    # The metrics are scraped from each app server, never through the public proxy.
    assert values(locations[("=", "/metrics")], "return") == [["404"]]
    location = locations[("/",)]
    assert values(location, "proxy_pass") == [[f"http://{upstream['args'][0]}"]]
    headers = dict(tuple(args) for args in values(location, "proxy_set_header"))
    # RAPPORT_BEHIND_TLS_PROXY trusts these two; the Host is checked by ALLOWED_HOSTS.
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Forwarded-For"] == "$proxy_add_x_forwarded_for"
    assert headers["Host"] == "$host"
    # Only refused or timed-out connections move to another server: a check-in POST that
    # reached a server is never replayed on a second one.
    (next_upstream,) = values(location, "proxy_next_upstream")
    assert "non_idempotent" not in next_upstream


def test_pgbouncer_pools_in_transaction_mode_with_password_auth():
    ini = configparser.ConfigParser(interpolation=None, strict=True)
    ini.read_string((DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text(encoding="utf-8"))

    bouncer = ini["pgbouncer"]
    assert bouncer["pool_mode"] == "transaction"
    assert bouncer["auth_type"] == "scram-sha-256"
    assert bouncer["listen_addr"] == "127.0.0.1"
    assert "dbname=rapport" in ini["databases"]["rapport"]
    # The comment's URL reaches this PgBouncer and sets the switch the app needs.
    text = (DEPLOY / "pgbouncer" / "pgbouncer.ini").read_text(encoding="utf-8")
    assert f"@127.0.0.1:{bouncer['listen_port']}/rapport" in text
    assert "RAPPORT_DATABASE_POOLER=pgbouncer" in text
