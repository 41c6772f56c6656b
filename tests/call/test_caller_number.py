"""Caller ids from the PBX become E.164 in the tenant's numbering plan."""

import pytest

from agi.call.caller import caller_e164, tenant_region
from agi.config import load_settings

SETTINGS = load_settings(environ={})


@pytest.mark.parametrize("tenant, raw, expected", [
    ("demo", "0612345678", "+33612345678"),
    ("demo", "+33 6 12 34 56 78", "+33612345678"),
    ("demo-en", "020 7946 0000", "+442079460000"),
    ("demo", "anonymous", ""),
    ("demo", "", ""),
    ("demo", "1234", "1234"),  # an internal extension stays as the PBX gave it
])
def test_caller_numbers(tenant: str, raw: str, expected: str) -> None:
    assert caller_e164(raw, SETTINGS.tenant(tenant)) == expected


def test_region_comes_from_the_tenant_numbers() -> None:
    assert tenant_region(SETTINGS.tenant("demo")) == "FR"
    assert tenant_region(SETTINGS.tenant("demo-en")) == "GB"
