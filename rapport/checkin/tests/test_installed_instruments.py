"""The installation's instruments: the clinic's reliable-change values replace placeholders."""

from __future__ import annotations

import pytest

from rapport.checkin.registry import load_installed_instruments


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
