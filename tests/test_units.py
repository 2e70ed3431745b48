"""daemon.units: the one way `cc` and its reports write a duration."""

from __future__ import annotations

import pytest

from daemon import units


@pytest.mark.parametrize("seconds, shown", [
    (0, "0:00"), (59.4, "0:59"), (59.5, "1:00"), (61, "1:01"), ("75", "1:15"),
    (3599, "59:59"), (3600, "1:00:00"), (36061.2, "10:01:01"),
])
def test_minutes_and_seconds_then_hours(seconds, shown):
    assert units.duration(seconds) == shown


def test_a_missing_value_shows_as_asked():
    assert units.duration(None) == "" and units.duration(None, missing="-") == "-"
