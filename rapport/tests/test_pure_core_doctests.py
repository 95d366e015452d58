"""The examples in the pure cores' docstrings run with the suite, so they stay true.

Every module of ``rapport.instruments``, ``rapport.psychometrics``, ``rapport.alerts``
and ``rapport.synth`` (their tests excepted) is run through :mod:`doctest`; and every
public function ``rapport.psychometrics`` exports shows a runnable example, as a
researcher's first look at it (docs/psychometrics.md).
"""

from __future__ import annotations

import doctest
import importlib
import inspect
import pkgutil
import types

import pytest

import rapport.psychometrics

PURE_CORES = ("rapport.instruments", "rapport.psychometrics", "rapport.alerts", "rapport.synth")
OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def pure_core_modules() -> list[str]:
    names: list[str] = []
    for package_name in PURE_CORES:
        package = importlib.import_module(package_name)
        names.append(package_name)
        names.extend(
            found.name
            for found in pkgutil.walk_packages(package.__path__, f"{package_name}.")
            if ".tests" not in found.name
        )
    return names


def failed_examples(module: types.ModuleType) -> tuple[int, str]:
    """Run ``module``'s examples; return the number that failed and doctest's report."""
    finder = doctest.DocTestFinder()
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    report: list[str] = []
    for test in finder.find(module, module.__name__):
        runner.run(test, out=report.append)
    return runner.failures, "".join(report)


@pytest.mark.parametrize("module_name", pure_core_modules())
def test_the_docstring_examples_hold(module_name: str) -> None:
    failures, report = failed_examples(importlib.import_module(module_name))

    assert failures == 0, report


def test_a_wrong_example_is_reported() -> None:
    module = types.ModuleType("sample")
    module.__doc__ = ">>> 1 + 1\n3\n"

    failures, report = failed_examples(module)

    assert failures == 1
    assert "Expected:\n    3\nGot:\n    2" in report


def test_the_walk_finds_the_modules_with_examples() -> None:
    assert {
        "rapport.instruments.registry",
        "rapport.psychometrics.reliability",
        "rapport.alerts.rules",
        "rapport.synth.generator",
    } <= set(pure_core_modules())


def test_every_public_psychometrics_function_shows_an_example() -> None:
    without = sorted(
        name
        for name, value in vars(rapport.psychometrics).items()
        if not name.startswith("_")
        and inspect.isfunction(value)
        and ">>>" not in (inspect.getdoc(value) or "")
    )

    assert without == []
