"""Fixtures shared by the program-delivery page tests.

Import ``long_sign_in_config`` and ``frozen_clock`` into a test module to get the
``app_config`` and ``clock`` fixtures (registered under those names, so the functions'
own names do not clash with the test arguments). A module using ``clock`` defines a
``clock_start`` fixture: the frozen instant its tests begin at.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine


@pytest.fixture(name="app_config")
def long_sign_in_config():
    """Frozen clocks jump days between requests; keep the sign-in alive across the jumps."""
    return {"SESSION_IDLE_MINUTES": 60 * 24 * 365, "SESSION_ABSOLUTE_HOURS": 24 * 365,
            "PERMANENT_SESSION_LIFETIME": timedelta(days=365)}


@pytest.fixture(name="clock")
def frozen_clock(clock_start):
    """Time stands still at ``clock_start`` until a test moves it."""
    with time_machine.travel(clock_start, tick=False) as traveller:
        yield traveller
