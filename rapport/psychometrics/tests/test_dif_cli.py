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
    assert "diff  flag" in out


def test_dif_json_has_the_score_difference_and_the_r2_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["dif", CSV, "--group", "group", "--items", *ITEMS, "--json"]) == 0
    by_item = {r["item"]: r for r in json.loads(capsys.readouterr().out)["items"]}
    d3 = by_item["d3"]
    assert d3["score_diff_group"] == "B"
    assert d3["score_diff_ci_low"] < d3["score_diff"] < d3["score_diff_ci_high"] < -0.3
    assert d3["flag"] != "none" and by_item["d1"]["flag"] == "none"
    # The R² rule on the Nagelkerke scale (Jodoin-Gierl cut-offs): d3 is "large".
    args = ["dif", CSV, "--group", "group", "--items", *ITEMS, "--rule", "r2", "--json"]
    assert main([*args, "--r2", "nagelkerke"]) == 0
    by_item = {r["item"]: r for r in json.loads(capsys.readouterr().out)["items"]}
    assert by_item["d3"]["flag"] == "large"


def test_dif_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dif", CSV, "--group", "nope", "--items", *ITEMS]) == 2
    assert "nope" in capsys.readouterr().err
    assert main(["dif", CSV, "--group", "group"]) == 2  # group3 holds text
    assert "not numeric" in capsys.readouterr().err
    assert main(["dif", CSV]) == 2  # --group is required
    assert "--group" in capsys.readouterr().err
