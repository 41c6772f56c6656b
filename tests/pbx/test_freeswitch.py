"""The FreeSWITCH front over real loopback TCP (outbound ESL) and UDP (unicast), against
the emulator's FreeSWITCH side (no FreeSWITCH can run here): refused peers, 8 and 16 kHz
legs, comfort noise, the pacing schedule with an injected clock."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest
from udp_ports import udp_range

from agi.call.channel import AudioIn, frame_bytes
from agi.call.media import MediaSession
from agi.config import FreeSwitchSettings, SpeechSettings
from agi.pbx.emulator import emulate_freeswitch_call
from agi.pbx.freeswitch import FreeSwitchCall, OutboundEslServer
from agi.pbx.unicast import UnicastMedia
from agi.speech.endpoint import Endpointer

LOW, _ = udp_range("freeswitch")  # this process's own 20 ports


def settings(**changes: object) -> FreeSwitchSettings:
    return replace(FreeSwitchSettings(enabled=True, esl_port=0, media_port_min=LOW,
                                      media_port_max=LOW + 19, first_audio_timeout_s=1.0), **changes)


async def serve(handler, fs: FreeSwitchSettings | None = None) -> OutboundEslServer:  # noqa: ANN001
    server = OutboundEslServer(handler, fs or settings())
    await server.start()
    return server


def test_a_connection_from_an_address_not_allowed_is_closed_before_any_call() -> None:
    handled: list[FreeSwitchCall] = []

    async def handler(call: FreeSwitchCall) -> None:
        handled.append(call)

    async def scenario():
        server = await serve(handler)
        try:
            return await emulate_freeswitch_call("127.0.0.1", server.port, source="127.0.0.2",
                                                 max_duration=5), server.refused
        finally:
            await server.stop()

    call, refused = asyncio.run(scenario())
    assert refused == 1 and handled == []
    assert [e.kind for e in call.events] == ["esl_connect", "esl_close", "dialplan_continues"]


@pytest.mark.parametrize("rate", [8000, 16000])
def test_media_at_the_read_codec_rate_with_comfort_noise_read_as_silence(rate: int) -> None:
    seen: dict[str, object] = {}

    async def handler(call: FreeSwitchCall) -> None:
        await call.answer()
        media = await call.start_media(2.0)
        frames = [await media.receive() for _ in range(5)]
        for _ in range(3):
            await media.send_audio(b"\x01\x02" * (frame_bytes(rate) // 2))
            await asyncio.sleep(0.02)
        seen.update(info=call.info, rate=media.sample_rate, frames=frames, noise=media.comfort_noise)
        await call.set_variable("PERMANENCE_RESULT", "hangup")
        await call.hangup()

    async def scenario():
        server = await serve(handler)
        try:
            return await emulate_freeswitch_call("127.0.0.1", server.port, tenant="demo", rate=rate,
                                                 max_duration=10)
        finally:
            await server.stop()

    call = asyncio.run(scenario())
    assert seen["rate"] == rate and seen["info"].route == "demo" and seen["info"].pbx == "freeswitch"
    assert seen["frames"] == [AudioIn(bytes(frame_bytes(rate)))] * 5  # 0xFF comfort noise -> zeros
    assert seen["noise"] >= 5
    # what we sent arrived as sent, one datagram per frame, then our hang-up
    assert call.agent_chunks[:3] == [b"\x01\x02" * (frame_bytes(rate) // 2)] * 3
    assert call.variables["PERMANENCE_RESULT"] == "hangup" and call.hung_up_by == "agent"
    kinds = [e.kind for e in call.events]
    assert kinds.index("unicast_start") < kinds.index("hangup") < kinds.index("esl_close")


def test_datagrams_from_another_address_are_dropped() -> None:
    async def scenario():
        media = UnicastMedia("c1", 8000, ("127.0.0.1", 9))  # FreeSWITCH's end: port 9
        await media.bind("127.0.0.1", 0)
        port = media._transport.get_extra_info("sockname")[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
            stranger.sendto(b"\x00\x10" * 160, ("127.0.0.1", port))
            await asyncio.sleep(0.05)
        await media.hangup()
        return media.rejected, media._queue.qsize()

    rejected, queued = asyncio.run(scenario())
    assert rejected == 1 and queued == 1  # only the end-of-stream marker


class SteppedClock:
    """An injected clock: ``sleep`` moves time on by what was asked, plus a late wake-up
    where the test says so (a starved event loop)."""

    def __init__(self, late: dict[int, float]) -> None:
        self.t = 1000.0
        self.late = late
        self.sends: list[float] = []
        self.sleeps = 0

    def now(self) -> float:
        return self.t

    async def sleep(self, delay: float) -> None:
        self.t += delay + self.late.get(self.sleeps, 0.0)
        self.sleeps += 1
        await asyncio.sleep(0)


def test_frames_leave_on_a_20_ms_schedule_and_a_stall_does_not_burst() -> None:
    # late wake-ups of 5 ms (caught up within the schedule) and one 250 ms stall (more
    # than MAX_PACING_LAG_S: resynchronise rather than send 12 frames at once)
    clock = SteppedClock({3: 0.005, 10: 0.25})

    async def scenario():
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as freeswitch:
            freeswitch.bind(("127.0.0.1", 0))
            media = UnicastMedia("c1", 8000, freeswitch.getsockname())
            await media.bind("127.0.0.1", 0)
            original = media.send_audio

            async def timed_send(pcm: bytes) -> None:
                clock.sends.append(clock.t)
                await original(pcm)

            media.send_audio = timed_send  # type: ignore[method-assign]  # records, then sends for real
            session = MediaSession(media, Endpointer(SpeechSettings()), None, "c1",
                                   clock=clock.now, sleep=clock.sleep)
            session.start()
            while len(clock.sends) < 20:
                await asyncio.sleep(0)
            await session.close()
            freeswitch.setblocking(False)
            received = 0
            while True:
                try:
                    freeswitch.recv(2048)
                except BlockingIOError:
                    break
                received += 1
            return received

    received = asyncio.run(scenario())
    gaps = [round((b - a) * 1000, 3) for a, b in zip(clock.sends, clock.sends[1:], strict=False)]
    assert gaps[:3] == [20.0, 20.0, 20.0]
    assert gaps[3] == 25.0 and gaps[4] == 15.0  # late by 5 ms, caught up on the next frame
    # after the stall: the frame that was due goes at once, then a new 20 ms schedule
    # (12 frames of catch-up would be heard as one 20 ms frame: unicast does not buffer)
    assert gaps[10] == 270.0 and gaps[11] == 0.0 and gaps[12:15] == [20.0, 20.0, 20.0]
    assert sum(gap < 15.0 for gap in gaps) == 1
    assert received >= 20


def test_the_listener_takes_no_more_calls_than_it_has_port_pairs() -> None:
    release = asyncio.Event()

    async def handler(call: FreeSwitchCall) -> None:
        await release.wait()

    async def scenario():
        server = await serve(handler, settings(media_port_max=LOW + 3))  # two pairs
        try:
            held = [asyncio.create_task(emulate_freeswitch_call("127.0.0.1", server.port, max_duration=10))
                    for _ in range(2)]
            while len(server._sessions) < 2:
                await asyncio.sleep(0.01)
            third = await emulate_freeswitch_call("127.0.0.1", server.port, max_duration=5)
            release.set()
            await asyncio.gather(*held)
            return third, server.refused
        finally:
            await server.stop()

    third, refused = asyncio.run(scenario())
    assert refused == 1 and [e.kind for e in third.events][-1] == "dialplan_continues"


def test_a_transfer_leg_nobody_waits_for_is_hung_up_and_never_becomes_a_call() -> None:
    """A connection carrying a ``permanence_leg`` token nobody expects (its transfer gave up,
    or a forged one) is hung up at once: the human is not left on a silent line, and no
    call session starts. An expected token hands its connection to the waiting transfer."""
    from agi.pbx.emulator.call import TargetLeg, TransferTarget
    from agi.pbx.emulator.freeswitch_target import TargetSession

    handled: list[FreeSwitchCall] = []

    async def handler(call: FreeSwitchCall) -> None:
        handled.append(call)

    async def scenario() -> tuple[TargetLeg, str, bool]:
        server = await serve(handler)
        try:
            stray = TargetLeg("user/1000", "sofia/internal/1000", "a1b2", "answered")
            events: list[str] = []
            session = TargetSession(stray, TransferTarget(), {"permanence_leg": "f" * 32},
                                    lambda side, kind, detail: events.append(kind))
            await asyncio.wait_for(session.run(server.legs.address), 5)
            expected = TargetLeg("user/1001", "sofia/internal/1001", "c3d4", "answered")
            waiting = server.legs.expect("e" * 32)
            other = TargetSession(expected, TransferTarget(), {"permanence_leg": "e" * 32},
                                  lambda side, kind, detail: None)
            running = asyncio.create_task(other.run(server.legs.address))
            leg = await asyncio.wait_for(waiting, 5)
            given = leg.info.call_id == "c3d4"
            await leg.close()
            await asyncio.wait_for(running, 5)
            return stray, ",".join(events), given
        finally:
            await server.stop()

    stray, events, given = asyncio.run(scenario())
    assert stray.hung_up and "hangup" in events and handled == []
    assert given
