"""Caller numbers from the PBX are validated and capped before they are stored."""

from __future__ import annotations

import pytest

from agi.call.caller import MAX_CALLER_CHARS, caller_e164
from agi.config import load_settings

TENANT = load_settings(environ={}).tenants[0]  # French numbering plan


@pytest.mark.parametrize(("raw", "stored"), [
    ("0612345678", "+33612345678"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+33\x00612345678", "+33612345678"),  # control characters dropped
    ("06\n12345678", "+33612345678"),
    ("anonymous", ""),
    ("alice", ""),  # not a number: nothing to store
    ("\x1b[31m", "31"),  # what is left is digits only, never an escape sequence
])
def test_caller_numbers_are_cleaned(raw: str, stored: str) -> None:
    assert caller_e164(raw, TENANT) == stored


def test_a_huge_caller_number_is_capped() -> None:
    stored = caller_e164("9" * 30_000, TENANT)
    assert 0 < len(stored) <= MAX_CALLER_CHARS + 1 and set(stored) <= set("+0123456789")
