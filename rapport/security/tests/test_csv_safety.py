import csv
import decimal
import io

import pytest

from rapport.security.csv_safety import SafeDictWriter, neutralise, safe_writer

PAYLOADS = [
    '=HYPERLINK("http://evil.example","x")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\0=1",
]


@pytest.mark.parametrize("payload", PAYLOADS)
def test_formula_triggers_are_prefixed_with_a_quote(payload):
    assert neutralise(payload) == "'" + payload


@pytest.mark.parametrize("value", ["R000123", "plain text", "3-4", "a=b", "", "ÿ=1"])
def test_ordinary_text_is_unchanged(value):
    assert neutralise(value) == value


@pytest.mark.parametrize("value", [-3, -2.5, decimal.Decimal("-1.25"), 0, None, True])
def test_numbers_none_and_booleans_are_left_as_they_are(value):
    assert neutralise(value) is value


def test_other_objects_are_written_as_text_and_neutralised():
    class Weird:
        def __str__(self):
            return "=1+1"

    assert neutralise(Weird()) == "'=1+1"


def test_safe_writer_neutralises_every_cell_and_round_trips():
    buffer = io.StringIO()
    writer = safe_writer(buffer)
    writer.writerow(["record", "note", "score"])
    writer.writerows([["=R1", "@x", -3], ["R2", "fine", 4.5]])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows == [["record", "note", "score"], ["'=R1", "'@x", "-3"], ["R2", "fine", "4.5"]]


def test_safe_dict_writer_neutralises_header_and_rows():
    buffer = io.StringIO()
    writer = SafeDictWriter(buffer, fieldnames=["-id", "value"])
    writer.writeheader()
    writer.writerow({"-id": "+1", "value": 2})
    writer.writerows([{"-id": "ok", "value": "=2"}])
    rows = list(csv.reader(io.StringIO(buffer.getvalue())))
    assert rows == [["'-id", "value"], ["'+1", "2"], ["ok", "'=2"]]
