"""Hostile peers over real TCP against the Asterisk adapters: media bound to its call,
silent peers timed out, floods refused with a bounded log, and a hostile reader never
holds the event loop while another call's commands flow."""

from __future__ import annotations

import asyncio
import logging
from typing import Any
from uuid import uuid4

import pytest

from agi.errors import PeerTimeout
from agi.pbx.asterisk import AgiChannel, AudioSocketServer, FastAgiServer
from agi.pbx.overload import RefusalLog, install_exception_handler
from agi.protocols import audiosocket as asock

ENV = (b"agi_network: yes\nagi_network_script: demo\nagi_request: agi://127.0.0.1/demo\n"
       b"agi_channel: PJSIP/1-0001\nagi_uniqueid: 1700000000.1\n\n")


def run(coro: Any) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(30):
            return await coro
    return asyncio.run(bounded())


async def connect_media(port: int, stream_uuid: Any, source: str = "127.0.0.1",
                        payload: bytes = b"") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    writer.write(asock.encode_uuid(stream_uuid) + payload)
    await writer.drain()
    return reader, writer


def test_media_from_another_address_or_a_second_connection_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        server = AudioSocketServer("127.0.0.1", 0)
        await server.start()
        live = uuid4()
        stream = server.expect(live, "127.0.0.1")  # announced by the FastAGI peer 127.0.0.1
        # an attacker on 127.0.0.2 presenting the live call's UUID first
        hostile_reader, hostile = await connect_media(server.port, live, "127.0.0.2",
                                                      asock.encode_audio(b"\x01\x00" * 160))
        assert await asyncio.wait_for(hostile_reader.read(), 5) == b""  # refused
        _, real = await connect_media(server.port, live, "127.0.0.1", asock.encode_dtmf("4"))
        await stream.wait_connected(5)
        assert await stream.receive() == asock.DtmfReceived("4")  # the real PBX's, only
        # a second connection for the same, now live, UUID
        again_reader, again = await connect_media(server.port, live, "127.0.0.1",
                                                  asock.encode_dtmf("9"))
        assert await asyncio.wait_for(again_reader.read(), 5) == b""
        await stream.send_audio(asock.SILENCE)  # the live call goes on both ways
        real.write(asock.encode_dtmf("5"))
        assert await stream.receive() == asock.DtmfReceived("5")
        for writer in (hostile, real, again):
            writer.close()
        await server.stop()

    with caplog.at_level(logging.WARNING, logger="agi.pbx.asterisk"):
        run(scenario())
    assert "from 127.0.0.2" in caplog.text and "belongs to the PBX at 127.0.0.1" in caplog.text
    assert "(not expected, ended or already connected)" in caplog.text


def test_a_configured_pbx_address_may_connect_media() -> None:
    async def scenario() -> None:
        server = AudioSocketServer("127.0.0.1", 0, pbx_hosts=frozenset({"127.0.0.3"}))
        await server.start()
        live = uuid4()
        stream = server.expect(live, "127.0.0.1")
        _, writer = await connect_media(server.port, live, "127.0.0.3", asock.encode_dtmf("1"))
        assert await stream.receive() == asock.DtmfReceived("1")
        writer.close()
        await server.stop()

    run(scenario())


def test_silent_peer_after_the_environment_is_closed_after_the_command_timeout() -> None:
    outcome: dict[str, Any] = {}

    async def handler(channel: AgiChannel) -> None:
        try:
            await channel.answer()
        except PeerTimeout as exc:
            outcome["error"] = exc
        with pytest.raises(PeerTimeout):  # every later command says the same
            await channel.set_variable("X", "1")
        outcome["closed"] = channel.closed

    async def scenario() -> bytes:
        server = FastAgiServer(handler, "127.0.0.1", 0, command_timeout=0.2)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV)
        assert await reader.readline() == b"ANSWER\n"  # and never answer it
        rest = await asyncio.wait_for(reader.read(), 10)
        writer.close()
        await server.stop()
        return rest

    assert run(scenario()) == b""  # the server closed the session
    assert "no answer to ANSWER within 0.2 s" in str(outcome["error"]) and outcome["closed"]


def test_connections_over_the_cap_are_closed_before_any_command(caplog: pytest.LogCaptureFixture) -> None:
    served: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        served.append(channel.env.uniqueid)
        await channel.answer()

    async def scenario() -> None:
        server = FastAgiServer(handler, "127.0.0.1", 0, max_connections=3, environment_timeout=10)
        await server.start()
        idle = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(3)]
        await asyncio.sleep(0.1)
        refused = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(20)]
        for reader, writer in refused:
            writer.write(ENV)
            assert await asyncio.wait_for(reader.read(), 5) == b""  # no command: the dialplan's fallback
        for _, writer in idle:
            writer.close()
        await asyncio.sleep(0.1)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV)
        assert await reader.readline() == b"ANSWER\n"  # room again: served
        writer.write(b"200 result=0\n")
        await asyncio.wait_for(reader.read(), 5)
        writer.close()
        await server.stop()

    with caplog.at_level(logging.WARNING, logger="agi.pbx.overload"):
        run(scenario())
    assert served == ["1700000000.1"]
    lines = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(lines) == 1  # 20 refusals, one line (the next one carries the count)


def test_refusal_log_counts_between_lines(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    refusals = RefusalLog("FastAGI", interval=60, clock=lambda: now[0])
    with caplog.at_level(logging.WARNING, logger="agi.pbx.overload"):
        for second in range(0, 125):
            now[0] = float(second)
            for _ in range(40):
                refusals.refused("127.0.0.1:1", "cap")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3 and refusals.total == 125 * 40
    assert messages[1].endswith("(and 2399 more in the last 60 s)")


def test_accept_errors_and_resets_are_folded(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        now = [0.0]
        install_exception_handler(loop, interval=60, clock=lambda: now[0])
        for _ in range(5000):  # what asyncio reports at the fd limit, once per accept
            loop.call_exception_handler({"message": "socket.accept() out of system resource",
                                         "exception": OSError(24, "Too many open files")})
        loop.call_exception_handler({"message": "Unhandled exception in client_connected_cb",
                                     "exception": ConnectionResetError(104, "Connection reset by peer")})

    with caplog.at_level(logging.INFO):
        run(scenario())
    assert sum("accept() failed" in r.getMessage() for r in caplog.records) == 1
    reset = [r for r in caplog.records if "reset" in r.getMessage()]
    assert len(reset) == 1 and reset[0].levelno == logging.INFO and reset[0].exc_info is None


def test_a_hostile_long_line_does_not_hold_another_call() -> None:
    """While one peer streams a 1 MB line, the other call's commands keep flowing."""
    order: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        if channel.env.uniqueid == "hostile":
            try:
                await channel.get_variable("X")
            except Exception as exc:  # the line cap: a protocol error, the session ends
                order.append(f"hostile refused: {type(exc).__name__}")
            return
        for n in range(20):
            await channel.verbose(f"tick {n}")
            order.append(f"tick {n}")

    async def hostile(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENV.replace(b"1700000000.1", b"hostile"))
        await reader.readline()
        try:
            for _ in range(256):
                writer.write(b"200 result=1 (" + b"x) " * 1365)
                await writer.drain()
                order.append("hostile chunk")
                await asyncio.sleep(0)
        except ConnectionError:
            pass
        writer.close()

    async def polite(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENV)
        while line := await reader.readline():
            assert line.startswith(b"VERBOSE")
            writer.write(b"200 result=1\n")
        writer.close()

    async def scenario() -> None:
        server = FastAgiServer(handler, "127.0.0.1", 0)
        await server.start()
        await asyncio.gather(hostile(server.port), polite(server.port))
        await server.stop()

    run(scenario())
    ticks = [i for i, item in enumerate(order) if item.startswith("tick")]
    chunks = [i for i, item in enumerate(order) if item == "hostile chunk"]
    assert len(ticks) == 20 and any(item.startswith("hostile refused") for item in order)
    assert ticks[0] < chunks[-1]  # interleaved: the polite call did not wait for the hostile one
