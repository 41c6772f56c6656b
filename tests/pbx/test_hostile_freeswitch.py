"""Floods against the FreeSWITCH front over real loopback sockets (issue #9): strangers and
allowed peers past the cap on the outbound-ESL listener, datagram floods on unicast media.
Each costs a counter and a bounded number of log lines, never a descriptor or memory
that stays. (No FreeSWITCH runs here: the peers are raw sockets, which is all a flood is.)"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import replace

import pytest
from udp_ports import udp_range

from agi.call.channel import AudioIn, DigitIn
from agi.config import FreeSwitchSettings
from agi.pbx.freeswitch import FreeSwitchCall, OutboundEslServer
from agi.pbx.unicast import MAX_DATAGRAM, MAX_QUEUED, MAX_QUEUED_DIGITS, PortPairs, UnicastMedia

LOW, _ = udp_range("hostile")  # this process's own 20 ports


def settings(**changes: object) -> FreeSwitchSettings:
    return replace(FreeSwitchSettings(enabled=True, esl_port=0, media_port_min=LOW,
                                      media_port_max=LOW + 19), **changes)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def refusal_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "refused" in r.getMessage()]


async def idle(call: FreeSwitchCall) -> None:
    await asyncio.sleep(30)


async def connect(port: int, source: str = "127.0.0.1") -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))


async def closed_at_once(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


def test_a_flood_of_strangers_is_closed_unread_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[int, list[bool], bytes, int, int]:
        server = OutboundEslServer(idle, settings())
        await server.start()
        try:
            before = open_fds()
            answers = []
            for _ in range(10):  # 200 connections from 127.0.0.2, 20 open at a time
                batch = [await connect(server.port, "127.0.0.2") for _ in range(20)]
                answers += [await closed_at_once(r) for r, _ in batch]
                for _, writer in batch:
                    writer.close()
            await asyncio.sleep(0.1)
            after = open_fds()
            reader, writer = await connect(server.port)  # FreeSWITCH itself is still served
            greeting = await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)
            writer.close()
            return server.refused, answers, greeting, before, after
        finally:
            await server.stop()

    with caplog.at_level(logging.WARNING, logger="agi.pbx.overload"):
        refused, answers, greeting, before, after = asyncio.run(scenario())
    assert refused == 200 and all(answers)  # closed before a byte was written
    assert after <= before  # every refused socket was released
    assert greeting == b"connect\n\n"
    lines = refusal_lines(caplog)
    assert len(lines) == 1 and "not in freeswitch.allowed_hosts" in lines[0]


def test_allowed_connections_past_the_cap_are_refused_until_room_is_made(
        caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[int, list[bool], bytes]:
        server = OutboundEslServer(idle, settings(), max_connections=3)
        await server.start()
        try:
            held = [await connect(server.port) for _ in range(3)]
            for reader, _ in held:  # each is a session waiting for its connect reply
                assert await asyncio.wait_for(reader.readuntil(b"\n\n"), 5) == b"connect\n\n"
            extra = [await connect(server.port) for _ in range(30)]
            answers = [await closed_at_once(r) for r, _ in extra]
            for _, writer in extra + held:
                writer.close()
            while server._sessions:  # the held sessions end on their EOF
                await asyncio.sleep(0.01)
            reader, writer = await connect(server.port)
            greeting = await asyncio.wait_for(reader.readuntil(b"\n\n"), 5)
            writer.close()
            return server.refused, answers, greeting
        finally:
            await server.stop()

    with caplog.at_level(logging.WARNING, logger="agi.pbx.overload"):
        refused, answers, greeting = asyncio.run(scenario())
    assert refused == 30 and all(answers) and greeting == b"connect\n\n"
    lines = refusal_lines(caplog)
    assert len(lines) == 1 and "limits.max_connections 3" in lines[0]


def test_datagram_floods_are_dropped_counted_and_logged_once_for_all_calls(
        caplog: pytest.LogCaptureFixture) -> None:
    pairs = PortPairs(LOW, LOW + 19)

    async def scenario() -> tuple[list[UnicastMedia], list[int]]:
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        freeswitch = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        freeswitch.bind(("127.0.0.1", 0))
        medias = []
        for n in range(2):
            media = UnicastMedia(f"c{n}", 8000, freeswitch.getsockname(), pairs.refusals)
            await media.bind("127.0.0.1", 0)
            medias.append(media)
        for media in medias:
            where = ("127.0.0.1", media._transport.get_extra_info("sockname")[1])
            for _burst in range(20):
                for _ in range(50):
                    stranger.sendto(b"\x00\x10" * 160, where)  # a stranger's "audio"
                    freeswitch.sendto(b"\x00\x10" * 160, where)  # the peer, far too fast
                freeswitch.sendto(b"\x00" * (MAX_DATAGRAM + 2), where)  # not a frame
                await asyncio.sleep(0.005)
            for _ in range(1000):
                media.digit("5")
        await asyncio.sleep(0.1)
        queued = [m._queue.qsize() for m in medias]
        for media in medias:
            await media.hangup()
        stranger.close()
        freeswitch.close()
        return medias, queued

    with caplog.at_level(logging.WARNING, logger="agi.pbx.overload"):
        medias, queued = asyncio.run(scenario())
    for media, size in zip(medias, queued, strict=True):
        assert media.rejected > 20  # strangers and oversized, dropped (loopback may lose some)
        assert MAX_QUEUED <= size <= MAX_QUEUED + MAX_QUEUED_DIGITS  # full, and no more
    assert pairs.refusals.total == sum(m.rejected for m in medias)
    assert len(refusal_lines(caplog)) == 1  # thousands of datagrams, one line


def test_what_a_flooded_call_queues_is_its_peers_audio_then_bounded_digits() -> None:
    async def scenario() -> tuple[list[object], int]:
        freeswitch = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        freeswitch.bind(("127.0.0.1", 0))
        media = UnicastMedia("c1", 8000, freeswitch.getsockname())
        await media.bind("127.0.0.1", 0)
        where = ("127.0.0.1", media._transport.get_extra_info("sockname")[1])
        freeswitch.sendto(b"\x00\x10" * 160, where)
        await asyncio.wait_for(media.wait_first_audio(5), 5)
        for _ in range(500):
            media.digit("1")
        got = [await media.receive() for _ in range(MAX_QUEUED + MAX_QUEUED_DIGITS)]
        left = media._queue.qsize()
        await media.hangup()
        freeswitch.close()
        return got, left

    got, left = asyncio.run(scenario())
    assert got[0] == AudioIn(b"\x00\x10" * 160)
    assert all(item == DigitIn("1") for item in got[1:]) and left == 0  # the rest were dropped
