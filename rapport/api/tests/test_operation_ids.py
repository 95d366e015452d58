"""Operation ids read as names: a client generated from the OpenAPI document has
``list_clients``, not ``rapport_api_routes_clients_list_clients``."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rapport.api.main import api

# A verb an integrator expects, then a noun, in lower camelCase: listClients, getClient.
OPERATION_ID = re.compile(r"^(list|get|create|update|delete)([A-Z][a-z]+)+$")


def operation_ids() -> dict[str, str]:
    """``"GET /api/v1/clients"`` to its operation id, for every operation."""
    document = api.get_openapi_schema()
    return {
        f"{method.upper()} {path}": operation["operationId"]
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_every_operation_id_is_a_camel_case_verb_and_noun() -> None:
    unreadable = {
        where: name for where, name in operation_ids().items() if not OPERATION_ID.match(name)
    }

    assert unreadable == {}


def test_operation_ids_are_unique() -> None:
    names = list(operation_ids().values())

    assert len(names) == len(set(names))


def test_the_operation_ids_an_integrator_sees() -> None:
    ids = operation_ids()

    assert ids["GET /api/v1/clients"] == "listClients"
    assert ids["GET /api/v1/clients/{client_id}/identity"] == "getClientIdentity"
    assert ids["POST /api/v1/clients/{client_id}/checkin-links"] == "createCheckinLink"


def test_a_generated_client_has_functions_named_after_the_operations(tmp_path: Path) -> None:
    generator = shutil.which("openapi-python-client", path=str(Path(sys.executable).parent))
    if generator is None:
        pytest.fail("openapi-python-client is a dev dependency: pip install -e '.[dev]'")
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(api.get_openapi_schema()), encoding="utf-8")

    run = subprocess.run(
        [
            generator,
            "generate",
            "--path",
            str(document),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / "client"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    modules = {path.stem for path in (tmp_path / "client" / "api").rglob("*.py")}
    assert {
        "list_clients",
        "get_client",
        "get_client_identity",
        "list_episodes",
        "list_administrations",
        "create_checkin_link",
    } <= modules
    assert not any(name.startswith("rapport_") for name in modules)
