"""The inbound ESL client (greenswitch in a thread with its own gevent hub) against the
emulator's inbound port (no FreeSWITCH here): api answers, a refused password, an address
outside the ACL, a server that never answers."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest

from agi.config import FreeSwitchSettings
from agi.errors import EslError
from agi.pbx.emulator.freeswitch_inbound import InboundEslEmulator
from agi.pbx.freeswitch_inbound import InboundEsl

PASSWORD = "s3cret-not-cluecon"


def client(port: int, password: str = PASSWORD, timeout: float = 3.0) -> InboundEsl:
    fs = replace(FreeSwitchSettings(), inbound_enabled=True, inbound_port=port, inbound_password=password)
    return InboundEsl(fs, timeout=timeout)


def answer(command: str) -> str:
    verb, _, uuid = command.partition(" ")
    return f"+OK {uuid}\n" if verb == "uuid_kill" else "-ERR No such channel!\n"


def test_api_commands_are_authenticated_and_answered() -> None:
    async def scenario():
        async with InboundEslEmulator(PASSWORD, answers=answer) as fs:
            out = await client(fs.port).api("uuid_kill 4b3c7f0e")
            with pytest.raises(EslError, match="refused api uuid_transfer: -ERR No such channel!"):
                await client(fs.port).api("uuid_transfer 4b3c7f0e permanence-route XML permanence")
            return out, fs.commands

    out, commands = asyncio.run(scenario())
    assert out == "+OK 4b3c7f0e\n"
    assert commands[:3] == [f"auth {PASSWORD}", "api uuid_kill 4b3c7f0e", "exit"]


def test_a_wrong_password_and_an_address_outside_the_acl_are_clear_errors() -> None:
    async def scenario():
        async with InboundEslEmulator(PASSWORD) as fs:
            with pytest.raises(EslError, match="password refused"):
                await client(fs.port, password="ClueCon").api("status")
        async with InboundEslEmulator(PASSWORD, allowed=lambda host: False) as fs:
            with pytest.raises(EslError, match="rude-rejection"):
                await client(fs.port).api("status")

    asyncio.run(scenario())


def test_a_server_that_never_answers_is_bounded_by_the_timeout() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        with pytest.raises(EslError, match="no answer within 1 s"):
            asyncio.run(client(silent.getsockname()[1], timeout=1.0).api("status"))
