"""Fixtures of the delivery tests; helpers live in notify_helpers.py, receivers in
receivers.py (both beside this file, put on the path here)."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from notify_helpers import Clock  # noqa: E402 - needs the path above


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime.now(UTC) + timedelta(seconds=1))
