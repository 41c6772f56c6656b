"""The systemd unit gives the process enough descriptors for the configured caps."""

from __future__ import annotations

import re
from pathlib import Path

from agi.config import load_settings
from agi.health import MAX_CONNECTIONS as HEALTH_CONNECTIONS

ROOT = Path(__file__).resolve().parents[2]
PER_CALL = 6  # FastAGI, AudioSocket or UDP pair, database, spool, recogniser threads' files
LISTENERS = 3  # FastAGI, AudioSocket, ESL


def test_limit_nofile_fits_the_caps_of_the_example_configuration() -> None:
    unit = (ROOT / "deploy" / "systemd" / "permanence.service").read_text("utf-8")
    match = re.search(r"^LimitNOFILE=(\d+)$", unit, re.MULTILINE)
    assert match is not None
    for config in (None, ROOT / "deploy" / "permanence.toml.example"):
        limits = load_settings(config, environ={}).limits
        need = LISTENERS * limits.max_connections + HEALTH_CONNECTIONS + PER_CALL * limits.max_calls + 256
        assert int(match[1]) >= need
