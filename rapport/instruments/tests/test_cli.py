"""``rapport score`` through main(): output forms, clinic folders, one-line errors."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from rapport.instruments.cli import main
from rapport.instruments.registry import ENV_INSTRUMENTS_DIR

DOCS_EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), stdout=out), out.getvalue()


@pytest.fixture(autouse=True)
def no_clinic_folder_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_INSTRUMENTS_DIR, raising=False)


def test_json_output() -> None:
    status, out = run("score", "phq9", "--answers", "1,1,1,1,1,1,1,1,1", "--json")

    assert status == 0
    assert json.loads(out) == {
        "instrument": "phq9",
        "total": 9,
        "estimated": False,
        "subscales": {},
        "band": "mild",
        "flags": ["critical:phq9_9"],
        "missing": [],
    }


def test_leading_score_word_is_optional() -> None:
    status, out = run("gad7", "--answers", "0,0,0,,0,0,0", "--json")

    assert status == 0
    assert json.loads(out)["missing"] == ["gad7_4"]


def test_text_output() -> None:
    status, out = run("rapport_trust", "--answers", "7,1,7,7,7,7,7,")

    assert status == 0
    assert out.splitlines() == [
        "Trust & Respect check-in (rapport_trust v3)",
        "total: 7.00 (high, estimated)",
        "subscale safety: 7.00",
        "subscale respect: 7.00",
        "flags: none",
        "missing: trust_open",
    ]


def test_text_output_without_a_total() -> None:
    status, out = run("phq9", "--answers", ",,,,,,,,3")

    assert status == 0
    assert "total: not scored (too many missing items)" in out
    assert "flags: critical:phq9_9" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["phq10", "--answers", "1"], "unknown instrument 'phq10'"),
        (
            ["gad7", "--answers", "0,1,2"],
            "expected 7 or 8 (the last 1 unscored and optional) comma-separated",
        ),
        (["gad7", "--answers", "0,1,2,3,0,1,9"], "9 is not one of the options"),
        (["gad7", "--answers", "0,1,x,3,0,1,2"], "'x' is not a number"),
        (["gad7"], "the following arguments are required: --answers"),
        (["gad7", "--answers", "0,0,0,0,0,0,0", "--instruments-dir", "/nonexistent/dir"], "is not"),
    ],
)
def test_invalid_input_prints_one_line_and_returns_2(argv, message, capsys) -> None:
    status, out = run(*argv)

    assert status == 2
    assert out == ""
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("rapport score: error: ")
    assert message in err


def test_clinic_folder_from_flag() -> None:
    status, out = run(
        "example_wai_sr",
        "--answers",
        ",".join(["5"] * 12),
        "--json",
        "--instruments-dir",
        str(DOCS_EXAMPLES),
    )

    assert status == 0
    assert json.loads(out)["total"] == 60


def test_clinic_folder_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_INSTRUMENTS_DIR, str(DOCS_EXAMPLES))

    status, _ = run(
        "example_wai_sr", "--answers", ",".join(["5"] * 12), "--instruments-dir", str(DOCS_EXAMPLES)
    )  # the same folder twice is fine

    assert status == 0


def test_default_argv_comes_from_sys_argv(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.argv", ["rapport", "score", "rapport_openness", "--answers", "8"])
    out = io.StringIO()

    assert main(stdout=out) == 0
    assert "total: 8 (high)" in out.getvalue()
