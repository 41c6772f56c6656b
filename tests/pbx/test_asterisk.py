"""FastAgiServer, AgiChannel and AudioSocketServer over real loopback TCP.

The Asterisk side is played by hand-written byte transcripts: what res_agi.c and
app_audiosocket.c put on the wire, including their awkward cases.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

import pytest

from agi.errors import AgiDeadChannel, AgiHangup, AgiInvalidCommand, AgiUsageError, CallEnded
from agi.pbx.asterisk import AgiChannel, AudioSocketServer, FastAgiServer
from agi.protocols import audiosocket as asock

ENV = (b"agi_network: yes\nagi_network_script: demo\nagi_request: agi://127.0.0.1/demo\n"
       b"agi_channel: PJSIP/trunk-00000001\nagi_uniqueid: 1732611111.42\n"
       b"agi_callerid: +33612345678\nagi_dnid: 0140000000\n\n")
USAGE = (b"520-Invalid command syntax.  Proper usage follows:\n"
         b" Usage: DATABASE DEL <family> <key>\n Deletes an entry.\n520 End of proper usage.\n")
DEAD = b"511 Command Not Permitted on a dead channel or intercept routine\n"


def run(coro: Awaitable[Any]) -> Any:
    async def bounded() -> Any:
        async with asyncio.timeout(20):
            return await coro
    return asyncio.run(bounded())


async def play_asterisk(port: int, transcript: list[tuple[bytes, bytes]], env: bytes = ENV) -> bytes:
    """Send ``env``, then for each (expected command, reply) check and answer; return the rest."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(env)
    for expected, reply in transcript:
        assert await reader.readline() == expected
        writer.write(reply)
        await writer.drain()
    rest = await reader.read()  # until the server closes the session
    writer.close()
    return rest


async def with_server(handler: Callable[[AgiChannel], Awaitable[None]],
                      body: Callable[[int], Awaitable[Any]]) -> Any:
    server = FastAgiServer(handler, "127.0.0.1", 0)
    await server.start()
    try:
        return await body(server.port)
    finally:
        await server.stop()


# ----------------------------------------------------------------- FastAGI


def test_commands_results_and_stray_hangup() -> None:
    seen: dict[str, Any] = {}

    async def handler(channel: AgiChannel) -> None:
        seen["env"] = channel.env
        seen["answer"] = await channel.answer()
        seen["greeting"] = await channel.get_variable("GREETING")
        seen["missing"] = await channel.get_variable("NOPE")
        await channel.exec("Dial", ["PJSIP/100", "30"])
        seen["hung_up_before"] = channel.hung_up
        await channel.verbose("bye now")  # HANGUP arrives first, then this answer
        seen["hung_up_after"] = channel.hung_up
        with pytest.raises(AgiDeadChannel) as info:
            await channel.command('STREAM FILE goodbye ""')
        seen["dead"] = info.value

    transcript = [
        (b"ANSWER\n", b"200 result=0\n"),
        (b"GET VARIABLE GREETING\n", b"200 result=1 (bonjour (matin))\n"),
        (b"GET VARIABLE NOPE\n", b"200 result=0\n"),
        (b"EXEC Dial PJSIP/100,30\n", b"100 result=0 Trying...\n200 result=0\n"),
        (b'VERBOSE "bye now" 1\n', b"HANGUP\n200 result=1\n"),
        (b'STREAM FILE goodbye ""\n', DEAD),
    ]
    rest = run(with_server(handler, lambda port: play_asterisk(port, transcript)))
    assert rest == b""
    assert seen["env"].uniqueid == "1732611111.42"
    assert seen["answer"].result == "0"
    assert seen["greeting"] == "bonjour (matin)"
    assert seen["missing"] is None
    assert (seen["hung_up_before"], seen["hung_up_after"]) == (False, True)
    assert seen["dead"].code == 511


def test_510_520_and_result_minus_one() -> None:
    seen: dict[str, Any] = {}

    async def handler(channel: AgiChannel) -> None:
        with pytest.raises(AgiInvalidCommand):
            await channel.command("FROB x")
        with pytest.raises(AgiUsageError) as usage:
            await channel.command("DATABASE DEL x")
        seen["usage"] = usage.value.usage
        with pytest.raises(AgiHangup):
            await channel.exec("AudioSocket", "x,127.0.0.1:1")
        seen["hung_up"] = channel.hung_up  # -1 alone does not prove the channel is gone
        await channel.verbose("still there?")
        seen["hung_up_after_notice"] = channel.hung_up

    transcript = [
        (b"FROB x\n", b"510 Invalid or unknown command\n"),
        (b"DATABASE DEL x\n", USAGE),
        (b"EXEC AudioSocket x,127.0.0.1:1\n", b"200 result=-1\nHANGUP\n"),
        (b'VERBOSE "still there?" 1\n', b"200 result=1\n"),
    ]
    run(with_server(handler, lambda port: play_asterisk(port, transcript)))
    assert seen["usage"] == " Usage: DATABASE DEL <family> <key>\n Deletes an entry."
    assert (seen["hung_up"], seen["hung_up_after_notice"]) == (False, True)


def test_hangup_closes_the_session_promptly() -> None:
    async def handler(channel: AgiChannel) -> None:
        await channel.hangup()
        assert channel.closed

    async def body(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENV)
        assert await reader.readline() == b"HANGUP\n"
        writer.write(b"200 result=1\nHANGUP\n")  # what Asterisk sends, then it waits for us
        rest = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        return rest

    assert run(with_server(handler, body)) == b""


def test_eof_during_a_command_is_a_hangup() -> None:
    seen: list[BaseException] = []

    async def handler(channel: AgiChannel) -> None:
        try:
            await channel.answer()
        except AgiHangup as exc:
            seen.append(exc)

    async def body(port: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(ENV)
        await reader.readline()
        writer.write(b"200 res")  # hang up in the middle of the answer
        writer.close()
        await asyncio.sleep(0.2)

    run(with_server(handler, body))
    assert len(seen) == 1


def test_malformed_environment_is_logged_and_server_keeps_serving(caplog: pytest.LogCaptureFixture) -> None:
    served: list[str] = []

    async def handler(channel: AgiChannel) -> None:
        served.append(channel.env.uniqueid)
        await channel.answer()

    async def body(port: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"agi_network: yes\nagi_callerid+33612345678\n\n")
        closed = await asyncio.wait_for(reader.read(), 5)
        writer.close()
        assert closed == b""
        return await play_asterisk(port, [(b"ANSWER\n", b"200 result=0\n")])

    with caplog.at_level(logging.INFO, logger="agi.pbx.asterisk"):
        run(with_server(handler, body))
    assert served == ["1732611111.42"]
    lines = [r.getMessage() for r in caplog.records if "malformed environment" in r.getMessage()]
    assert len(lines) == 1
    assert "AGI environment line 2 has no ': ' separator" in lines[0]
    assert "33612345678" not in caplog.text  # no phone numbers in logs


def test_handler_exception_is_logged_with_uniqueid_and_socket_closed(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(channel: AgiChannel) -> None:
        raise RuntimeError("boom")

    with caplog.at_level(logging.ERROR, logger="agi.pbx.asterisk"):
        rest = run(with_server(handler, lambda port: play_asterisk(port, [])))
    assert rest == b""
    assert "call 1732611111.42: FastAGI handler failed" in caplog.text


def test_stop_cancels_live_sessions() -> None:
    started = asyncio.Event

    async def scenario() -> bool:
        ready = started()
        cancelled = started()

        async def handler(channel: AgiChannel) -> None:
            ready.set()
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                cancelled.set()
                raise

        server = FastAgiServer(handler, "127.0.0.1", 0)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(ENV)
        await ready.wait()
        await server.stop()
        assert await reader.read() == b""
        writer.close()
        return cancelled.is_set()

    assert run(scenario()) is True


# ----------------------------------------------------------------- AudioSocket


async def asterisk_audiosocket(port: int, stream_uuid: UUID, payload: bytes, *, close: bool = True
                               ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(asock.encode_uuid(stream_uuid) + payload)
    await writer.drain()
    if close:
        writer.write_eof()
    return reader, writer


def test_audiosocket_both_ways_and_hangup() -> None:
    async def scenario() -> None:
        server = AudioSocketServer("127.0.0.1", 0)
        await server.start()
        stream_uuid = uuid4()
        stream = server.expect(stream_uuid)
        pcm = b"\x01\x02" * 160
        reader, writer = await asterisk_audiosocket(
            server.port, stream_uuid, asock.encode_audio(pcm) + asock.encode_dtmf("5"), close=False)
        await stream.wait_connected(5)
        sock = stream._writer.get_extra_info("socket")  # type: ignore[union-attr]
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert await stream.receive() == asock.AudioReceived(pcm)
        assert await stream.receive() == asock.DtmfReceived("5")
        await stream.send_audio(asock.SILENCE)
        assert await reader.readexactly(323) == asock.encode_audio(asock.SILENCE)
        await stream.hangup()
        assert stream.closed
        assert await reader.read() == asock.encode_hangup()  # then EOF
        with pytest.raises(CallEnded):
            await stream.receive()
        with pytest.raises(CallEnded):
            await stream.send_audio(asock.SILENCE)
        writer.close()
        await server.stop()

    run(scenario())


def test_audiosocket_hangup_frame_then_call_ended() -> None:
    async def scenario() -> None:
        server = AudioSocketServer("127.0.0.1", 0)
        await server.start()
        stream_uuid = uuid4()
        stream = server.expect(stream_uuid)
        _, writer = await asterisk_audiosocket(server.port, stream_uuid, asock.encode_hangup())
        assert await stream.receive() == asock.HangupReceived()
        with pytest.raises(CallEnded):
            await stream.receive()
        writer.close()
        await server.stop()

    run(scenario())


@pytest.mark.parametrize(("payload", "log_text"), [
    (b"\x42\x00\x00", "malformed frame, ending the stream: unknown AudioSocket frame kind 0x42"),
    (b"\x10\x01\x40" + bytes(100), "connection closed in the middle of a frame (103 of 323 bytes)"),
    (b"\x10\xff\xff", "frame length 65535 exceeds the maximum of 16000 bytes"),
])
def test_audiosocket_bad_frames_end_the_stream_and_server_serves_on(
        payload: bytes, log_text: str, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        server = AudioSocketServer("127.0.0.1", 0)
        await server.start()
        first_uuid = uuid4()
        stream = server.expect(first_uuid)
        good = asock.encode_audio(asock.SILENCE)
        _, w1 = await asterisk_audiosocket(server.port, first_uuid, good + payload)
        assert await stream.receive() == asock.AudioReceived(asock.SILENCE)
        with pytest.raises(CallEnded):
            await stream.receive()
        assert stream.closed
        second_uuid = uuid4()
        second = server.expect(second_uuid)
        _, w2 = await asterisk_audiosocket(server.port, second_uuid, good)
        assert await second.receive() == asock.AudioReceived(asock.SILENCE)
        w1.close()
        w2.close()
        await server.stop()

    with caplog.at_level(logging.INFO, logger="agi.pbx.asterisk"):
        run(scenario())
    assert log_text in caplog.text


@pytest.mark.parametrize(("first", "log_text"), [
    (asock.encode_uuid(UUID(int=7)), "rejected: unknown uuid 00000000-0000-0000-0000-000000000007"),
    (asock.encode_audio(asock.SILENCE), "rejected: first frame is AudioReceived, not a UUID"),
    (b"\x42\x00\x00", "rejected: malformed first frame: unknown AudioSocket frame kind 0x42"),
])
def test_audiosocket_rejects_unknown_connections(first: bytes, log_text: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        server = AudioSocketServer("127.0.0.1", 0)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(first)
        assert await asyncio.wait_for(reader.read(), 5) == b""  # closed by the server
        writer.close()
        stream_uuid = uuid4()
        stream = server.expect(stream_uuid)
        _, w2 = await asterisk_audiosocket(server.port, stream_uuid, asock.encode_dtmf("1"))
        assert await stream.receive() == asock.DtmfReceived("1")
        w2.close()
        await server.stop()

    with caplog.at_level(logging.WARNING, logger="agi.pbx.asterisk"):
        run(scenario())
    assert log_text in caplog.text


def test_audiosocket_stop_ends_waiting_streams() -> None:
    async def scenario() -> None:
        server = AudioSocketServer("127.0.0.1", 0)
        await server.start()
        stream = server.expect(uuid4())
        with pytest.raises(TimeoutError):
            await stream.wait_connected(0.05)
        await server.stop()
        with pytest.raises(CallEnded):
            await stream.receive()

    run(scenario())
