"""[usage] and [console]: defaults, environment overrides, and errors that name the key."""

from __future__ import annotations

import tomllib
from importlib import resources
from typing import Any

import pytest

from agi.config import settings_from_dict
from agi.console.metering import usage_policy
from agi.errors import ConfigError


def raw(**sections: dict[str, Any]) -> dict[str, Any]:
    base = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    return base


def test_defaults_and_environment_overrides() -> None:
    s = settings_from_dict(raw(), {"PERMANENCE_CONSOLE_ENABLED": "false",
                                   "PERMANENCE_USAGE_ROUNDING": "second"})
    assert (s.console.enabled, s.console.host, s.console.port) == (False, "127.0.0.1", 8090)
    assert (s.usage.rounding, s.usage.retention_days, s.usage.access_log_days) == ("second", 3650, 365)
    policy = usage_policy(s)
    assert policy.rounding == "second" and policy.zones["demo"] == "Europe/Paris"


@pytest.mark.parametrize(("section", "values", "key"), [
    ("usage", {"rounding": "hour"}, "usage.rounding"),
    ("usage", {"retention_days": 30}, "usage.retention_days"),
    ("usage", {"alert_minutes": {"demo": "-5"}}, "usage.alert_minutes.demo"),
    ("console", {"port": 70000}, "console.port"),
    ("console", {"enabled": "perhaps"}, "console.enabled"),
    ("console", {"session_hours": 0}, "console.session_hours"),
    ("console", {"colour": "blue"}, "console.colour"),
])
def test_bad_values_name_their_key(section: str, values: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        settings_from_dict(raw(**{section: values}), {})
    assert key in str(info.value)
