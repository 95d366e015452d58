"""``rapport stats dif``: JSON output against the MASS::polr fixture, text output, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rapport.psychometrics.cli import main

REF = Path(__file__).parent / "reference"
CSV = str(REF / "dif_items.csv")
ITEMS = [f"d{j}" for j in range(1, 9)]
FIXTURE = json.loads((REF / "dif_reference.json").read_text())


def test_dif_json_matches_polr(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dif", CSV, "--group", "group3", "--items", *ITEMS, "--json"])
    out, err = capsys.readouterr()
    assert (code, err) == (0, "")
    got = json.loads(out)
    assert got["anchors"] == ["d1", "d2", "d4", "d6", "d7", "d8"] and got["converged"]
    flags = {r["item"]: r["flag"] for r in got["items"]}
    assert {k for k, v in flags.items() if v != "none"} == {"d3", "d5"}
    by_item = {r["item"]: r for r in got["items"]}
    for rec in FIXTURE["records"]:
        if (rec["grouping"], rec["matching"]) == ("group3", "purified"):
            for key in ("lr_uniform", "p_uniform", "lr_nonuniform", "p_total"):
                assert by_item[rec["item"]][key] == pytest.approx(rec[key], abs=1e-9)


def test_dif_text_and_no_purify(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["dif", CSV, "--group", "group", "--items", ",".join(ITEMS), "--no-purify"])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "groups: A, B" in out and "anchors: d1, d2, d3, d4, d5, d6, d7, d8" in out
    assert "empty category 2 dropped" in out
    assert out.count("\n") == 2 + 1 + 8


def test_dif_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dif", CSV, "--group", "nope", "--items", *ITEMS]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["dif", CSV, "--group", "group"]) == 2  # group3 holds text
    assert "not numeric" in capsys.readouterr().err
    assert main(["dif", CSV]) == 2  # --group is required
    assert "--group" in capsys.readouterr().err
