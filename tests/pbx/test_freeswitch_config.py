"""[freeswitch] settings: validated like the rest, errors naming the key."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from agi.config import settings_from_dict
from agi.errors import ConfigError


def build(**freeswitch: object):  # noqa: ANN201
    raw = tomllib.loads(resources.files("agi").joinpath("defaults.toml").read_text("utf-8"))
    raw["freeswitch"].update(freeswitch)
    return settings_from_dict(raw, {})


@pytest.mark.parametrize("password", ["", "ClueCon", "cluecon", " ClueCon ", "   "])
def test_the_inbound_client_refuses_an_empty_or_default_password(password: str) -> None:
    with pytest.raises(ConfigError, match="freeswitch.inbound_password: empty or FreeSWITCH's"):
        build(inbound_enabled=True, inbound_password=password)
    assert build(inbound_enabled=False, inbound_password=password).freeswitch.inbound_enabled is False


def test_defaults_listen_on_loopback_and_allow_only_loopback() -> None:
    fs = build().freeswitch
    assert (fs.esl_host, fs.esl_port, fs.allowed) == ("127.0.0.1", 8084, frozenset({"127.0.0.1"}))
    assert build(inbound_enabled="true", inbound_password="x" * 24).freeswitch.inbound_enabled is True


@pytest.mark.parametrize(("change", "key"), [
    ({"allowed_hosts": "freeswitch.local"}, "freeswitch.allowed_hosts"),
    ({"allowed_hosts": " , "}, "freeswitch.allowed_hosts"),
    ({"media_port_min": 30000, "media_port_max": 30000}, "freeswitch.media_port_min"),
    ({"esl_port": 70000}, "freeswitch.esl_port"),
    ({"enabled": "maybe"}, "freeswitch.enabled"),
    ({"first_audio_timeout_s": 0}, "freeswitch.first_audio_timeout_s"),
])
def test_bad_values_name_their_key(change: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        build(**change)


def test_esl_transfers_on_a_wildcard_listener_need_the_address_target_legs_connect_to() -> None:
    with pytest.raises(ConfigError, match=r"freeswitch\.esl_advertise: esl_host '0\.0\.0\.0'"):
        build(esl_transfers=True, esl_host="0.0.0.0")
    fs = build(esl_transfers=True, esl_host="0.0.0.0", esl_advertise="10.0.0.5:8084").freeswitch
    assert fs.esl_advertise == "10.0.0.5:8084"
    assert build(esl_transfers=False, esl_host="0.0.0.0").freeswitch.esl_advertise == ""
