"""The installation's instruments: the clinic's reliable-change values replace placeholders."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rapport.core.instruments import load_installed_instruments


def test_the_clinic_setting_replaces_the_placeholder_reliable_change(settings) -> None:
    settings.RELIABLE_CHANGE = {"rapport_trust": 0.75}

    trust = load_installed_instruments()["rapport_trust"]

    assert trust.reliable_change == 0.75
    assert "RAPPORT_RELIABLE_CHANGE" in trust.reliable_change_source


def test_without_the_setting_the_shipped_placeholder_stays(settings) -> None:
    settings.RELIABLE_CHANGE = {}

    trust = load_installed_instruments()["rapport_trust"]

    assert round(trust.reliable_change, 3) == 0.868
    assert "Placeholder" in trust.reliable_change_source


def test_a_value_for_an_instrument_that_is_not_installed_is_refused(settings) -> None:
    settings.RELIABLE_CHANGE = {"wai_sr": 5.0}

    with pytest.raises(ValueError, match="unknown instrument"):
        load_installed_instruments()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "rapport_trust=0.7, rapport_alliance=5",
            "{'rapport_trust': 0.7, 'rapport_alliance': 5.0}",
        ),
        ("rapport_trust=abc", "RAPPORT_RELIABLE_CHANGE: 'rapport_trust=abc' is not"),
    ],
)
def test_the_setting_is_read_from_the_environment_and_a_bad_value_stops_start_up(
    value, expected
) -> None:
    environment = os.environ | {"RAPPORT_RELIABLE_CHANGE": value}
    script = "import rapport.settings_for_tests as s; print(s.RELIABLE_CHANGE)"
    run = subprocess.run(
        [sys.executable, "-c", script], env=environment, capture_output=True, text=True
    )

    assert expected in run.stdout + run.stderr
    assert (run.returncode == 0) == ("is not" not in expected)
