"""AMI: the [ami] settings checks, and our panoramisk
client against the emulated Asterisk Manager (agi.pbx.emulator.ami: no real Asterisk can
run here; the emulator speaks the protocol as main/manager.c does)."""

from __future__ import annotations

import asyncio
import tomllib
from importlib import resources
from typing import Any

import pytest

from agi.config import AmiSettings, settings_from_dict
from agi.errors import AmiError, AmiLoginFailed, ConfigError
from agi.pbx.ami import REASON_BUSY, AmiClient
from agi.pbx.asterisk_transfer import dial_failure
from agi.pbx.emulator import EmulatedAmi, TransferTarget

USER, SECRET = "permanence", "0d6f2c9e41b87a53"


def _settings(**ami: Any) -> Any:
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    raw["ami"].update(ami)
    return settings_from_dict(raw, {})


@pytest.mark.parametrize(("ami", "key"), [
    ({"enabled": True, "username": "", "secret": SECRET}, "ami.username"),
    ({"enabled": True, "username": USER, "secret": ""}, "ami.secret"),
    ({"enabled": True, "username": "mark", "secret": "mysecret"}, "ami.secret"),  # manager.conf.sample
    ({"enabled": True, "username": "admin", "secret": "amp111"}, "ami.secret"),  # FreePBX's old default
    ({"enabled": True, "username": USER, "secret": "MySecret"}, "ami.secret"),
    ({"enabled": True, "username": "permanence12", "secret": "permanence12"}, "ami.secret"),
    ({"enabled": True, "username": USER, "secret": "short1"}, "ami.secret"),
    ({"port": 70000}, "ami.port"),
    ({"login_timeout_s": 0}, "ami.login_timeout_s"),
    ({"secrett": "x"}, "ami.secrett"),
])
def test_the_configuration_check_refuses_sample_and_empty_credentials(ami: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _settings(**ami)
    assert caught.value.key == key


def test_the_secret_comes_from_the_environment_and_is_never_shown() -> None:
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    raw["ami"].update(enabled=True, username=USER)
    settings = settings_from_dict(raw, {"PERMANENCE_AMI_SECRET": SECRET})
    assert settings.ami.secret == SECRET and SECRET not in repr(settings.ami)
    assert _settings().ami.enabled is False  # off by default: no credentials needed


def test_dial_failures_map_asterisk_reasons() -> None:
    assert [dial_failure(r) for r in (REASON_BUSY, 8, 3, 1, 0)] == ["busy", "busy", "no_answer", "refused", "failed"]


def test_the_client_logs_in_originates_and_reports_errors_from_the_emulated_ami() -> None:
    async def scenario() -> tuple[Any, ...]:
        ami = EmulatedAmi(USER, SECRET, {"PJSIP/busy": TransferTarget(answer="busy", ring_s=0.05)})
        port = await ami.start()
        client = AmiClient(AmiSettings(enabled=True, port=port, username=USER, secret=SECRET))
        try:
            await client.connect()
            busy = await client.originate("PJSIP/busy", application="AudioSocket",
                                          data="0f0e0d0c-0b0a-4908-8706-050403020100,127.0.0.1:9",
                                          ring_s=10, channel_id="target-1")
            unknown = await client.originate("PJSIP/nobody", application="AudioSocket", data="x,y:1",
                                             ring_s=10, channel_id="target-2")
            with pytest.raises(AmiError, match="Channel1 does not exist"):
                await client.bridge("PJSIP/trunk-00000001", "PJSIP/busy-00000001")
            with pytest.raises(AmiError, match="No such channel"):
                await client.hangup("PJSIP/nobody-1")
            return busy, unknown, ami.logins
        finally:
            await client.close()
            await ami.stop()

    busy, unknown, logins = asyncio.run(scenario())
    assert not busy.success and busy.reason == REASON_BUSY and busy.uniqueid == "target-1"
    assert not unknown.success and unknown.reason == 0
    assert logins == [(USER, True)]


def test_a_client_that_lost_its_login_says_so() -> None:
    async def scenario() -> None:
        ami = EmulatedAmi(USER, SECRET)
        port = await ami.start()
        client = AmiClient(AmiSettings(enabled=True, port=port, username=USER, secret="not-the-secret-123"))
        try:
            with pytest.raises(AmiLoginFailed, match="refused the login"):
                await client.connect()
            with pytest.raises(AmiError, match="not logged in"):
                await client.hangup("PJSIP/x")
        finally:
            await ami.stop()

    asyncio.run(scenario())
