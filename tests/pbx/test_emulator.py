"""The PBX emulator against a tiny FastAGI + AudioSocket agent built on our own servers.

Everything is real: TCP on loopback, the emulator streaming in real time, the agent
pacing its frames. Audio is synthetic tones (the emulator only measures levels).
"""

from __future__ import annotations

import asyncio
import time
import wave
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np
import pytest

from agi.errors import AgiHangup, AgiInvalidCommand, AgiUsageError, CallEnded
from agi.pbx.asterisk import AgiChannel, AudioSocketServer, AudioSocketStream, FastAgiServer
from agi.pbx.emulator import (
    CallerTurn,
    CallEvent,
    EmulatedCall,
    emulate_call,
    is_speech,
    read_wav,
    speak,
    write_wav,
)
from agi.protocols import audiosocket as asock


def tone(seconds: float, rate: int = 8000, freq: float = 440.0) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 8000).astype("<i2").tobytes()


def frames(pcm: bytes) -> list[bytes]:
    return [pcm[i:i + 320].ljust(320, b"\0") for i in range(0, len(pcm), 320)]


async def paced(stream: AudioSocketStream, chunks: list[bytes]) -> None:
    start = time.monotonic()
    for n, chunk in enumerate(chunks):
        await stream.send_audio(chunk)
        await asyncio.sleep(max(0.0, start + (n + 1) * 0.02 - time.monotonic()))


async def run_call(handler: Callable[[AgiChannel, AudioSocketServer], Awaitable[None]],
                   **options: Any) -> EmulatedCall:
    media = AudioSocketServer("127.0.0.1", 0)
    await media.start()
    agi = FastAgiServer(lambda channel: handler(channel, media), "127.0.0.1", 0)
    await agi.start()
    try:
        async with asyncio.timeout(30):
            return await emulate_call("127.0.0.1", agi.port, **options)
    finally:
        await agi.stop()
        await media.stop()


async def start_media(channel: AgiChannel, media: AudioSocketServer
                      ) -> tuple[AudioSocketStream, asyncio.Task[Any]]:
    stream_uuid = uuid4()
    stream = media.expect(stream_uuid)
    exec_task = asyncio.create_task(channel.exec("AudioSocket", f"{stream_uuid},127.0.0.1:{media.port}"))
    await stream.wait_connected(5)
    return stream, exec_task


GREETING = tone(0.3)


def test_echo_call_frames_both_ways_and_agent_hangup() -> None:
    seen: dict[str, Any] = {}

    async def agent(channel: AgiChannel, media: AudioSocketServer) -> None:
        await channel.answer()
        await channel.set_variable("PERMANENCE_CALL", channel.env.uniqueid)
        seen["callerid"] = channel.env.callerid
        seen["script"] = channel.env.network_script
        stream, exec_task = await start_media(channel, media)
        await paced(stream, frames(GREETING))
        heard: list[bytes] = []
        quiet = 0
        while quiet < 10:  # the caller's turn, then 200 ms of silence frames
            event = await stream.receive()
            assert isinstance(event, asock.AudioReceived)
            if is_speech(event.pcm):
                heard.append(event.pcm)
                quiet = 0
            elif heard:
                quiet += 1
        seen["heard"] = len(heard)
        await paced(stream, heard)  # echo the caller back
        await stream.hangup()
        seen["exec"] = await exec_task
        with pytest.raises(AgiInvalidCommand):
            await channel.command("FROB")
        with pytest.raises(AgiUsageError) as usage:
            await channel.command("SET VARIABLE ONLYNAME")
        seen["usage"] = usage.value.usage
        seen["dnid"] = await channel.get_variable("EXTEN")
        await channel.set_variable("OUTCOME", "echoed")
        await channel.hangup()

    printed: list[CallEvent] = []
    call = asyncio.run(run_call(agent, path="acme", turns=[CallerTurn(tone(0.4, freq=300))],
                                on_event=printed.append))
    assert seen["callerid"] == "+33612345678" and seen["script"] == "acme"
    assert seen["heard"] == 20  # 0.4 s of caller speech = 20 frames, all received
    assert seen["exec"].result == "0"  # our hang-up frame made AudioSocket() return 0
    assert "Usage: SET VARIABLE" in seen["usage"]
    assert seen["dnid"] == "0140000000"
    assert call.variables == {"PERMANENCE_CALL": call.uniqueid, "OUTCOME": "echoed"}
    assert call.hung_up_by == "agent"
    assert call.close_delay is not None  # the server closed after HANGUP
    assert call.agent_speech_frames == len(frames(GREETING)) + 20
    assert call.agent_frames == call.agent_speech_frames
    assert len(call.agent_audio) == call.agent_frames * 320
    assert call.caller_frames >= 20
    assert len(call.turns) == 1 and call.turns[0].end is not None
    assert call.turns[0].first_agent_speech is not None
    assert call.turns[0].first_agent_speech >= call.turns[0].end
    kinds = [e.kind for e in call.events]
    for kind in ("agi_connect", "audiosocket_connect", "turn_start", "turn_end", "audiosocket_close",
                 "hangup", "agi_hangup_notice", "agi_close"):
        assert kind in kinds
    assert kinds.index("agi_hangup_notice") < kinds.index("agi_close")
    assert printed == call.events
    commands = call.commands()
    assert commands[0] == "ANSWER" and commands[-1] == "HANGUP"
    assert any(c.startswith("EXEC AudioSocket ") for c in commands)
    results = [e.detail for e in call.events if e.kind == "agi_result"]
    assert "510 Invalid or unknown command" in results
    assert "200 result=1 (0140000000)" in results


def test_caller_hangs_up_mid_call() -> None:
    seen: dict[str, Any] = {}

    async def agent(channel: AgiChannel, media: AudioSocketServer) -> None:
        await channel.answer()
        stream, exec_task = await start_media(channel, media)
        await paced(stream, frames(GREETING))
        received = 0
        try:
            while True:
                await stream.receive()
                received += 1
        except CallEnded:
            seen["received"] = received
        try:
            await exec_task
        except AgiHangup:
            seen["exec"] = "hangup"
        await channel.set_variable("OUTCOME", "caller hung up")  # allowed on a dead channel
        seen["hung_up"] = channel.hung_up  # the HANGUP line came before that answer
        await channel.close()

    call = asyncio.run(run_call(agent, turns=[CallerTurn(tone(0.2))], hangup_after=1))
    assert seen["exec"] == "hangup" and seen["hung_up"] is True
    assert seen["received"] >= 10
    assert call.hung_up_by == "caller"
    assert call.variables == {"OUTCOME": "caller hung up"}
    assert call.close_delay is not None
    assert [e.kind for e in call.events].count("agi_hangup_notice") == 1


def test_barge_in_turn_starts_while_agent_speaks() -> None:
    async def agent(channel: AgiChannel, media: AudioSocketServer) -> None:
        await channel.answer()
        stream, exec_task = await start_media(channel, media)
        await paced(stream, frames(tone(1.0)))
        await stream.hangup()
        await exec_task
        await channel.hangup()

    call = asyncio.run(run_call(agent, turns=[CallerTurn(tone(0.2), start=0.3)]))
    speech_start = next(e.t for e in call.events if e.kind == "speech_start")
    assert call.turns[0].start >= speech_start + 0.3 - 0.001  # event times are rounded to 1 ms
    assert call.turns[0].start < speech_start + 1.0  # well before the 1 s prompt ended
    assert call.hung_up_by == "agent"


def test_silence_none_hits_asterisk_inactivity_timeout() -> None:
    seen: dict[str, Any] = {}

    async def agent(channel: AgiChannel, media: AudioSocketServer) -> None:
        await channel.answer()
        stream, exec_task = await start_media(channel, media)
        try:  # think forever without sending a frame
            await stream.receive()
        except CallEnded:
            seen["ended"] = True
        with pytest.raises(AgiHangup):  # AudioSocket() returned -1
            await exec_task
        seen["after"] = await channel.get_variable("EXTEN")  # the channel is still up
        await channel.close()

    call = asyncio.run(run_call(agent, silence="none"))
    assert seen["ended"] is True
    assert seen["after"] == "0140000000"
    assert call.caller_frames == 0
    assert call.hung_up_by is None
    kinds = [e.kind for e in call.events]
    assert "audiosocket_timeout" in kinds and "dialplan_continues" in kinds
    assert "agi_hangup_notice" not in kinds


def test_emulate_call_rejects_unknown_silence_mode() -> None:
    with pytest.raises(ValueError):
        asyncio.run(emulate_call("127.0.0.1", 1, silence="sometimes"))


# ----------------------------------------------------------------- audio helpers


def test_read_wav_converts_rate_and_channels(tmp_path: Path) -> None:
    path = tmp_path / "stereo16k.wav"
    mono = np.frombuffer(tone(0.5, rate=16000), dtype="<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(np.repeat(mono, 2).astype("<i2").tobytes())
    pcm = read_wav(path)
    assert len(pcm) == 4000 * 2  # 0.5 s at 8 kHz, mono, 16-bit
    assert is_speech(pcm[:320]) and not is_speech(asock.SILENCE)
    write_wav(tmp_path / "out.wav", pcm)
    with wave.open(str(tmp_path / "out.wav")) as back:
        assert (back.getframerate(), back.getnchannels(), back.getnframes()) == (8000, 1, 4000)


def test_speak_makes_8khz_speech_with_espeak_ng() -> None:
    pcm = speak("bonjour, je voudrais un rendez-vous", voice="fr")
    assert len(pcm) > 8000 * 2  # more than a second of audio
    assert sum(is_speech(f) for f in frames(pcm)) > 20
