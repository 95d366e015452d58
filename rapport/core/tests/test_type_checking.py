"""The mypy exemption list in pyproject.toml may only shrink.

Modules listed under the `ignore_errors = true` override are not type checked yet. These tests
run mypy with that override removed and fail when a listed module has become clean (so it must
come off the list) or no longer exists, in the style of zulip's coverage exemption list.
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[3]
ERROR_LINE = re.compile(r"^(?P<path>rapport/\S+\.py):\d+: error:", re.MULTILINE)


def mypy_config() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]


def exempt_modules(config: dict) -> list[str]:
    return next(
        override["module"]
        for override in config["mypy"]["overrides"]
        if override.get("ignore_errors") is True
    )


def module_name(path: str) -> str:
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def module_exists(name: str) -> bool:
    as_path = PROJECT_ROOT / name.replace(".", "/")
    return as_path.with_suffix(".py").is_file() or (as_path / "__init__.py").is_file()


def toml_value(value) -> str:
    # JSON strings, lists of strings and booleans are valid TOML too.
    return json.dumps(value)


def config_without_exemptions(config: dict) -> str:
    """The project's mypy configuration as TOML, minus the exemption override."""
    mypy_settings = config["mypy"]
    lines = ["[tool.mypy]"]
    lines += [
        f"{key} = {toml_value(value)}" for key, value in mypy_settings.items() if key != "overrides"
    ]
    lines += ["[tool.django-stubs]"]
    lines += [f"{key} = {toml_value(value)}" for key, value in config["django-stubs"].items()]
    for override in mypy_settings["overrides"]:
        if override.get("ignore_errors") is True:
            continue
        lines += ["[[tool.mypy.overrides]]"]
        lines += [f"{key} = {toml_value(value)}" for key, value in override.items()]
    return "\n".join(lines) + "\n"


def modules_with_errors(config_file: Path) -> set[str]:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file",
            str(config_file),
            # A cache of its own, so `make lint`'s cache is not invalidated by this run.
            "--cache-dir",
            ".mypy_cache/exemptions",
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    # 0: clean, 1: type errors; anything else means mypy itself failed.
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return {module_name(match["path"]) for match in ERROR_LINE.finditer(result.stdout)}


def test_every_exempt_module_exists():
    missing = [name for name in exempt_modules(mypy_config()) if not module_exists(name)]
    assert not missing, f"remove these modules from the mypy exemption list: {missing}"


@pytest.mark.database_independent
def test_exempt_modules_are_not_yet_clean(tmp_path):
    config = mypy_config()
    config_file = tmp_path / "pyproject.toml"
    config_file.write_text(config_without_exemptions(config))
    failing = modules_with_errors(config_file)
    now_clean = sorted(set(exempt_modules(config)) - failing)
    assert not now_clean, (
        "these modules now pass mypy: remove them from the exemption list in pyproject.toml: "
        f"{now_clean}"
    )
