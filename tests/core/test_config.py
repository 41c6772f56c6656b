"""Settings: the embedded defaults, overrides, and errors that name the key and the fix."""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from agi.config import load_settings, settings_from_dict
from agi.errors import ConfigError, UnknownTenant


def defaults() -> dict[str, Any]:
    return tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))


def test_embedded_defaults_are_valid() -> None:
    settings = load_settings(environ={})
    demo = settings.tenant("demo")
    assert demo.language == "fr" and demo.timezone == "Europe/Paris"
    assert demo.service("visite").name == "consultation"
    assert settings.tenant("demo-en").language == "en"


def test_tenant_by_path_then_by_dialled_number() -> None:
    settings = load_settings(environ={})
    assert settings.tenant("/demo-en?x=1").id == "demo-en"
    assert settings.tenant("", "01 40 00 00 00").id == "demo"
    assert settings.tenant("nope", "+44 20 7000 0000").id == "demo-en"
    with pytest.raises(UnknownTenant):
        settings.tenant("nope", "0999")


def test_environment_overrides_are_cast_and_checked() -> None:
    settings = load_settings(environ={"PERMANENCE_SERVER_AGI_PORT": "4580",
                                      "PERMANENCE_SPEECH_NO_INPUT_TIMEOUT_S": "3.5"})
    assert settings.server.agi_port == 4580
    assert settings.speech.no_input_timeout_s == 3.5
    with pytest.raises(ConfigError, match=r"server.agi_port: expected int, got 'x'"):
        load_settings(environ={"PERMANENCE_SERVER_AGI_PORT": "x"})
    with pytest.raises(ConfigError, match="PERMANENCE_SERVER_AGI_PROT: unknown setting"):
        load_settings(environ={"PERMANENCE_SERVER_AGI_PROT": "1"})


def test_config_file_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "missing.toml", environ={})
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(bad, environ={})


@pytest.mark.parametrize("key", ["ai_disclosure", "disclosure", "ai_statement", "announce_ai"])
def test_ai_statement_cannot_be_switched_off(key: str) -> None:
    raw = defaults()
    raw["tenants"][0][key] = False
    with pytest.raises(ConfigError, match="cannot be changed or switched off") as err:
        settings_from_dict(raw, {})
    assert err.value.key == f"tenants[0].{key}"


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r["tenants"][0].update(language="de"), "tenants.demo.language: unsupported language 'de'"),
    (lambda r: r["tenants"][0].update(timezone="Mars/Olympus"), "unknown time zone"),
    (lambda r: r["tenants"][0].update(privacy_notice=" "), "privacy_notice: must not be empty"),
    (lambda r: r["tenants"][0]["opening_hours"].update(mon=["18:00-09:00"]), "ends before it starts"),
    (lambda r: r["tenants"][0]["opening_hours"].update(lun=["09:00-12:00"]), "unknown day"),
    (lambda r: r["tenants"][0].update(services=[]), "at least one service"),
    (lambda r: r["tenants"][1].update(id="demo"), "duplicate tenant id 'demo'"),
    (lambda r: r["server"].update(agi_port=70000), "server.agi_port: port 70000 out of range"),
    (lambda r: r["store"].update(backend="mysql"), "store.backend: unknown backend"),
    (lambda r: r["speech"].update(model_path="/nonexistent"), "speech.model_path"),
    (lambda r: r.update(extra={}), "extra: unknown section"),
])
def test_invalid_settings_are_rejected_with_the_key(mutate: Any, message: str) -> None:
    raw = defaults()
    mutate(raw)
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        settings_from_dict(raw, {})


def test_missing_privacy_notice_gets_the_language_default() -> None:
    raw = defaults()
    del raw["tenants"][1]["privacy_notice"]
    tenant = settings_from_dict(raw, {}).tenant("demo-en")
    assert "Riverside Dental" in tenant.privacy_notice and "erase" in tenant.privacy_notice
