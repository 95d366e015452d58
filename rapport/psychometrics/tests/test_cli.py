"""``rapport stats`` CLI: JSON output against the R fixtures, and bad-input handling."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from rapport.psychometrics.cli import ITEM_KEYS, main

REF = Path(__file__).parent / "reference"
ALPHA = json.loads((REF / "alpha_reference.json").read_text())
CORR = json.loads((REF / "correlation_reference.json").read_text())


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_reliability_json_matches_psych(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["reliability", str(REF / "alpha_complete.csv"), "--json"], capsys)
    assert (code, err) == (0, "")
    got = json.loads(out)
    assert set(got) == {"n", "k", "alpha", "std_alpha", "feldt_ci", "duhachek_ci", "items"}
    exp = ALPHA["complete"]
    assert (got["n"], got["k"]) == (500, 8)
    assert got["alpha"] == pytest.approx(exp["alpha"], abs=1e-9)
    assert got["std_alpha"] == pytest.approx(exp["std_alpha"], abs=1e-9)
    assert got["feldt_ci"] == pytest.approx(exp["feldt_ci"], abs=1e-9)
    assert got["duhachek_ci"] == pytest.approx(exp["duhachek_ci"], abs=1e-9)
    assert [set(row) for row in got["items"]] == [set(ITEM_KEYS)] * 8
    assert [row["r_drop"] for row in got["items"]] == pytest.approx(exp["items"]["r_drop"])


def test_reliability_listwise_reverse_items(capsys: pytest.CaptureFixture[str]) -> None:
    exp = ALPHA["reverse_listwise"]
    argv = ["reliability", str(REF / "alpha_reverse.csv"), "--missing", "listwise",
            "--reverse", "q3", "q7", "--json"]  # fmt: skip
    code, out, _ = run(argv, capsys)
    assert code == 0
    got = json.loads(out)
    assert got["alpha"] == pytest.approx(exp["alpha"], abs=1e-9)
    assert [r["alpha_if_dropped"] for r in got["items"]] == pytest.approx(
        exp["items"]["alpha_if_dropped"], abs=1e-9
    )
    # --items subset, comma-separated form
    argv = ["reliability", str(REF / "alpha_complete.csv"), "--items", "q1,q2,q3", "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0 and json.loads(out)["k"] == 3


def test_reliability_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["reliability", str(REF / "alpha_missing.csv")], capsys)
    assert code == 0
    assert "alpha = 0.7" in out and "Feldt [" in out
    assert len([line for line in out.splitlines() if line.startswith("q")]) == 8


def test_correlate_json_matches_cor_test(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["correlate", str(REF / "correlation.csv"), "trust", "alliance", "--json"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    got = json.loads(out)
    exp = CORR["main"]
    assert got["n"] == exp["n"]
    assert got["r"] == pytest.approx(exp["r"], abs=1e-9)
    assert got["ci"] == pytest.approx(exp["ci"], abs=1e-9)
    assert got["p"] == pytest.approx(exp["p"], rel=1e-9)
    assert got["compare"] is None

    code, out, _ = run([*argv, "--compare", "0.53"], capsys)
    cmp = json.loads(out)["compare"]
    assert set(cmp) == {"r0", "z", "p"}
    assert (cmp["z"], cmp["p"]) == pytest.approx((CORR["fixed"]["z"], CORR["fixed"]["p"]))

    code, out, _ = run([*argv, "--compare", "0.53", "--compare-n", "200"], capsys)
    cmp = json.loads(out)["compare"]
    assert abs(cmp["z"]) == pytest.approx(CORR["independent"]["z"], abs=1e-9)


def test_correlate_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["correlate", str(REF / "correlation.csv"), "trust", "alliance", "--compare", ".53"]
    code, out, _ = run(argv, capsys)
    assert code == 0
    assert out.startswith("r(trust, alliance) = 0.587, n = 289")
    assert "fixed value" in out


@pytest.mark.parametrize(
    ("content", "argv_tail", "message"),
    [
        (None, ["--json"], "no such file"),
        ("", ["--json"], "the file is empty"),
        ("q1,q2,q3\n", ["--json"], "at least 3 rows are required, got 0"),
        ("q1,q2,q3\n1,2,3\n2,3,4\n", ["--json"], "at least 3 rows are required, got 2"),
        ("q1,q2,q3\n1,2,3\n2,x,4\n3,4,5\n", ["--json"], "column 'q2' is not numeric"),
        ("q1,q2,q3\n1,2,3\n2,3,4\n3,4,4\n", ["--items", "q1", "q9"], "not found: 'q9'"),
        ("q1,q2,q3\n1,2,3\n2,3,4\n3,4,4\n", ["--reverse", "q5"], "not among the items: 'q5'"),
        ("q1,q2,q3\n1,2,3\n2,3,4\n3,4,4\n", ["--missing", "some"], "invalid choice: 'some'"),
        ('q1,q2\n1,"2\n', ["--json"], "not a valid CSV file"),
    ],
)
def test_reliability_bad_input(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | None,
    argv_tail: list[str],
    message: str,
) -> None:
    path = tmp_path / "answers.csv"
    if content is not None:
        path.write_text(content)
    code, out, err = run(["reliability", str(path), *argv_tail], capsys)
    assert code == 2
    assert out == ""
    assert err.startswith("rapport stats: error: ")
    assert message in err
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    ("argv_tail", "message"),
    [
        (["trust", "outcome"], "not found: 'outcome'"),
        (["trust", "name"], "column 'name' is not numeric"),
        (["trust", "alliance", "--compare", "1.2"], "rho0 must be strictly between -1 and 1"),
        (["trust", "alliance", "--compare", "high"], "invalid float value"),
        (["trust", "alliance", "--compare-n", "50"], "--compare-n needs --compare"),
        (["trust"], "the following arguments are required: y"),
    ],
)
def test_correlate_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv_tail: list[str], message: str
) -> None:
    path = tmp_path / "c.csv"
    path.write_text("trust,alliance,name\n1,2,a\n2,3,b\n3,5,c\n4,4,d\n")
    code, out, err = run(["correlate", str(path), *argv_tail], capsys)
    assert (code, out) == (2, "")
    assert message in err
    assert err.count("\n") == 1


def test_too_few_complete_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.csv"
    path.write_text("x,y\n1,\n2,3\n,4\n4,5\n")
    code, _, err = run(["correlate", str(path), "x", "y"], capsys)
    assert code == 2 and "at least 3 complete pairs" in err


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([], capsys)
    assert code == 2 and "required: COMMAND" in err
    code, _, err = run(["frobnicate"], capsys)
    assert code == 2 and "invalid choice: 'frobnicate'" in err
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "reliability" in out and "correlate" in out


def test_module_imports_without_django() -> None:
    code = (
        "import sys, rapport.psychometrics, rapport.psychometrics.cli; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
