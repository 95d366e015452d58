"""``rapport.clinic`` sits below the feature apps: it never imports the check-in or the
insights app (they build on it; it reaches them through signals)."""

from __future__ import annotations

import ast
from pathlib import Path

CLINIC = Path(__file__).resolve().parents[1]
FEATURE_APPS = ("rapport.checkin", "rapport.insights")


def imported_modules(source: Path) -> set[str]:
    """Every module ``source`` imports, at any depth (function-level imports included)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def clinic_sources() -> list[Path]:
    return sorted(path for path in CLINIC.rglob("*.py") if "tests" not in path.parts)


def test_the_walk_sees_the_clinic_modules() -> None:
    names = {path.name for path in clinic_sources()}

    assert {"models.py", "setup.py", "synth_writer.py", "synth.py"} <= names


def test_the_walk_sees_function_level_imports(tmp_path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from rapport.insights.summaries import refresh_stale\n")

    assert "rapport.insights.summaries" in imported_modules(sample)


def test_the_clinic_app_imports_neither_checkin_nor_insights() -> None:
    offending = sorted(
        f"{path.relative_to(CLINIC)} imports {module}"
        for path in clinic_sources()
        for module in imported_modules(path)
        if module.startswith(FEATURE_APPS)
    )

    assert offending == []
